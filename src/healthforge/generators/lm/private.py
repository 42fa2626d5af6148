"""Fitting ``lm`` under differential privacy: public or DP domain, then DP-SGD.

The same rules as the other DP generators, from the same code
(:func:`healthforge.generators.private.base.private_fit`): a schema is public only when passed
explicitly to ``fit`` (a :class:`PreparedData`'s schema never is); values outside a public
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

import numpy as np
import pandas as pd

from healthforge.data.encoding import TableEncoder
from healthforge.data.prepare import PreparedData
from healthforge.data.schema import Schema
from healthforge.generators.lm.tokenizer import Tokenizer, codec_from_release
from healthforge.generators.private import base as dp_base
from healthforge.privacy.accounting import budget_record
from healthforge.progress import ProgressCallback

if TYPE_CHECKING:
    from healthforge.generators.lm.generator import LmGenerator

MECHANISM = "DP-SGD on a tabular transformer (opacus), public or DP-released token domain"
ACCOUNTANT = "RDP of the Poisson-sampled Gaussian (opacus), composed with the zCDP domain release"


def fit_private(
    gen: LmGenerator,
    data: pd.DataFrame | PreparedData,
    schema: Schema | None,
    target: str | None,
    drop: list[str] | tuple[str, ...],
    progress: ProgressCallback | None,
) -> None:
    """Fit ``gen`` (an ``LmGenerator`` with ``epsilon`` set) spending (epsilon, delta)."""
    assert gen.epsilon is not None  # the caller fits without DP otherwise

    def check(prepared: PreparedData, encoder: TableEncoder) -> None:
        gen.schema_ = prepared.schema
        gen.excluded_ = dict(prepared.excluded)
        gen.n_train_ = len(prepared.frame)
        gen._check_supported(encoder)

    run = dp_base.private_fit(
        gen.name,
        data,
        schema,
        bounds=gen.bounds,
        target=target,
        drop=drop,
        epsilon=gen.epsilon,
        delta=gen.delta,
        noise_seed=gen.noise_seed,
        max_bins=gen.n_bins,
        check=check,
    )
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

    gen.schema_ = run.released
    gen.encoder_ = TableEncoder(run.released)
    gen.discrete_ = gen.encoder_.discrete
    gen.cardinalities_ = gen.encoder_.cardinalities
    gen.train_profile_ = None
    gen.train_hashes_ = np.empty(0, dtype=np.uint64)
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
