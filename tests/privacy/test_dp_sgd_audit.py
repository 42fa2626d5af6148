"""An empirical privacy audit of one DP-SGD step (issue 20), white-box.

The mechanism audited is one step of :func:`healthforge.generators.private.sgd.make_private`'s
DP-SGD - the path ``dpctgan``, ``dptvae`` and ``lm`` train through - calibrated for a
single step over all rows (batch_size >= n, so the sampling rate is 1 and no subsampling
amplification is claimed). Neighbouring datasets under add/remove adjacency: ``D`` (20
rows) and ``D'`` = ``D`` + one canary whose gradient is huge along one weight, so clipped
it adds exactly ``max_grad_norm`` along that weight. The attacker sees the released
gradient and scores each run by that weight's noisy sum (``-expected_batch_size x`` the
update, as opacus divides the noisy sum by it; ``n`` is public, as the docs state). A
threshold attack over RUNS runs per dataset, with the Clopper-Pearson bound of
:func:`healthforge.privacy.audit.epsilon_lower_bound` (95% confidence), gives a lower bound
on the epsilon actually spent; it must stay below the claimed epsilon. With the noise cut
to a tenth (a mutation in tests/mutations/entries/dp_sgd.py) the same audit's bound
exceeds the claim.

A full dpctgan/dptvae fit per run would take seconds; a step takes milliseconds, so the
audit is of the step (every step of every generator is this step on its own rows).
"""

from __future__ import annotations

import numpy as np
import pytest

from healthforge.generators.private.sgd import make_private
from healthforge.privacy.audit import epsilon_lower_bound

torch = pytest.importorskip("torch")
pytest.importorskip("opacus")

CLAIMED_EPSILON, DELTA = 2.0, 1e-5
RUNS = 600  # per dataset: 1,200 opacus steps, ~10 s on a loaded 2-core machine
NORM = 1.0


def _scores(with_canary: bool, seed: int) -> np.ndarray:
    """RUNS independent single-step releases on D or D'; the canary weight's noisy sum."""
    gen = torch.Generator().manual_seed(11)  # the same D in both worlds
    rows = 0.2 * torch.randn(20, 4, generator=gen)
    if with_canary:
        rows = torch.cat([rows, torch.tensor([[1e3, 0.0, 0.0, 0.0]])])
    torch.manual_seed(seed)
    net = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(net.parameters(), lr=1.0)
    run = make_private(
        net,
        opt,
        rows,
        target_epsilon=CLAIMED_EPSILON,
        delta=DELTA,
        epochs=1,
        batch_size=len(rows),
        max_grad_norm=NORM,
        seed=seed,
    )
    # the claim audited is that of the single planned step
    assert run.planned_steps == 1 and run.sampling_rate == 1.0
    scores = np.empty(RUNS)
    for i in range(RUNS):
        # each run is a fresh release of the same one-step mechanism (new noise); the
        # score is a difference of weights, so where earlier runs left them is irrelevant
        (batch,) = next(iter(run.loader))
        before = net.weight[0, 0].item()
        loss = run.module(batch).sum(dim=1).mean()
        run.optimizer.zero_grad()
        loss.backward()
        run.optimizer.step()
        scores[i] = -(net.weight[0, 0].item() - before) * run.optimizer.expected_batch_size
    return scores


def test_single_step_audit_stays_below_the_claimed_epsilon() -> None:
    without, with_ = _scores(False, seed=1), _scores(True, seed=2)
    bound = epsilon_lower_bound(without, with_, DELTA, alpha=0.05)
    assert bound < CLAIMED_EPSILON, f"audit lower bound {bound:.2f} > claimed {CLAIMED_EPSILON}"
    # and the audit is not blind: the canary's clipped gradient does shift its weight's
    # noisy sum, by the clipping norm (4 standard errors: false-positive rate 6e-5)
    shift = with_.mean() - without.mean()
    spread = np.sqrt((with_.var() + without.var()) / RUNS)
    assert abs(shift - NORM) <= 4 * spread, shift
