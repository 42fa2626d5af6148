"""Fitting ``lm`` under differential privacy: public or DP domain, then DP-SGD.

The same rules as the other DP generators, from the same code: ``Generator.fit`` runs
:func:`healthforge.generators.private.fit.private_fit` first. A schema is public only when
passed explicitly to ``fit`` (a :class:`PreparedData`'s schema never is); values outside a public
schema are clipped or treated as missing; the bins and category lists are the schema's
when it is public, otherwise released with DP (noisy counts; a noisy histogram on a
public grid for numeric bounds), spending the domain share of the zCDP budget. The
network is then trained with DP-SGD (:func:`healthforge.generators.private.sgd.make_private`),
its noise calibrated so that the domain release and all training steps together spend
at most (epsilon, delta) under the RDP accountant (add/remove-one adjacency; the row
count sets the sampling rate and is public, as in opacus). The model keeps no hashes of
training rows and no unnoised statistic of them (no loss history).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from healthforge.data.encoding import TableEncoder
from healthforge.generators.lm.tokenizer import Tokenizer, codec_from_release
from healthforge.generators.private.fit import PrivateFit
from healthforge.privacy.accounting import budget_record
from healthforge.progress import ProgressCallback

if TYPE_CHECKING:
    from healthforge.generators.lm.generator import LmGenerator

MECHANISM = "DP-SGD on a tabular transformer (opacus), public or DP-released token domain"
ACCOUNTANT = "RDP of the Poisson-sampled Gaussian (opacus), composed with the zCDP domain release"


def fit_private(gen: LmGenerator, run: PrivateFit, progress: ProgressCallback | None) -> None:
    """Train ``gen`` (an ``LmGenerator`` with ``epsilon``) on the release ``run`` of
    ``Generator.fit``, spending the rest of (epsilon, delta) on DP-SGD."""
    assert gen.epsilon is not None  # the caller fits without DP otherwise
    tokenizer = Tokenizer([codec_from_release(c) for c in run.columns])
    codes = tokenizer.encode(run.matrix, run.rng)
    private = {
        "epsilon": run.epsilon,
        "delta": run.delta - run.delta_select,
        "max_grad_norm": float(gen.max_grad_norm),
        "prior_rho": run.rho_domain,
        "noise_seed": gen.noise_seed,
    }
    gen.rules_ = []  # rules would be read from the data for free
    # nor bounds or sums (an earlier fit without DP on the same object left its own)
    gen.orders_, gen.relations_, gen.ties_ = [], None, []
    result = gen._train(tokenizer, codes, progress, private)
    sgd = result.private.budget()

    released = TableEncoder(run.released)  # Generator.fit keeps it as the model's encoder
    gen.discrete_ = released.discrete
    gen.cardinalities_ = released.cardinalities
    gen.dp_budget_ = budget_record(
        MECHANISM,
        sgd.epsilon_spent,
        run.delta,
        {
            "epsilon_target": run.epsilon,
            "rho_domain": run.rho_domain,
            "domain": run.split_domain,
            "dp_sgd": sgd.as_dict(),
            "delta_dp_sgd_and_domain_rdp": run.delta - run.delta_select,
            "delta_category_selection": run.delta_select,
        },
        ACCOUNTANT,
        public_schema=run.public,
        row_count="public (DP-SGD's sampling rate uses n; add/remove-one adjacency)",
    )
