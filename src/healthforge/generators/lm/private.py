"""Fitting ``lm`` under differential privacy: public or DP domain, then DP-SGD.

The same rules as the other DP generators (:mod:`healthforge.generators.dp_base`):
values outside a public schema are clipped or treated as missing; the bins and category
lists are the schema's when it is public, otherwise released with DP by
``_release_domain`` (noisy counts, exponential mechanism on a grid of round numbers),
spending ``DOMAIN_SHARE`` of the zCDP budget. The network is then trained with DP-SGD
(:func:`healthforge.generators.dp_sgd.make_private`), its noise calibrated so that the
domain release and all training steps together spend at most (epsilon, delta) under
the RDP accountant. The model keeps no hashes of training rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from healthforge.data.encoding import TableEncoder
from healthforge.data.prepare import PreparedData, prepare
from healthforge.data.schema import Schema
from healthforge.errors import HealthForgeError
from healthforge.generators.dp_base import (
    DOMAIN_SHARE,
    _has_all_bounds,
    _release_domain,
    _require_bounds,
    conform_to_schema,
)
from healthforge.generators.lm.tokenizer import Tokenizer, codec_from_release
from healthforge.privacy.accounting import (
    budget_record,
    cdp_rho,
    check_delta,
    check_epsilon,
    default_delta,
)
from healthforge.progress import ProgressCallback

MECHANISM = "DP-SGD on a tabular transformer (opacus), public or DP-released token domain"
ACCOUNTANT = "RDP of the Poisson-sampled Gaussian (opacus), composed with the zCDP domain release"


def fit_private(
    gen: object,
    data: pd.DataFrame | PreparedData,
    schema: Schema | None,
    target: str | None,
    drop: list[str] | tuple[str, ...],
    progress: ProgressCallback | None,
) -> None:
    """Fit ``gen`` (an ``LmGenerator`` with ``epsilon`` set) spending (epsilon, delta)."""
    bounds = gen.bounds  # type: ignore[attr-defined]
    if isinstance(data, PreparedData):
        prepared, public = data, bounds == "schema"
    else:
        public = schema is not None and bounds != "dp"
        if schema is not None:
            data = conform_to_schema(data, schema)
        prepared = prepare(data, schema, target, drop)
    if bounds == "dp":
        public = False
    if len(prepared.frame) < 2:
        raise HealthForgeError("need at least 2 rows to fit a generator")
    if bounds == "schema":
        if not public:
            raise HealthForgeError(
                "generator 'lm' in strict mode needs a schema you supply",
                "write one with `healthforge profile DATA --schema-out schema.yaml`, "
                "set public minimum/maximum per column, and pass --schema",
            )
        _require_bounds(prepared.schema)
    n = len(prepared.frame)
    epsilon = check_epsilon(gen.epsilon)  # type: ignore[attr-defined]
    delta = default_delta(n) if gen.delta is None else check_delta(gen.delta, n)  # type: ignore[attr-defined]
    rng = np.random.default_rng(gen.noise_seed)  # type: ignore[attr-defined]

    encoder = TableEncoder(prepared.schema)
    matrix = encoder.encode(prepared.frame)
    gen.schema_ = prepared.schema  # type: ignore[attr-defined]
    gen.excluded_ = dict(prepared.excluded)  # type: ignore[attr-defined]
    gen.n_train_ = n  # type: ignore[attr-defined]
    gen._check_supported(encoder)  # type: ignore[attr-defined]

    domain_free = public and _has_all_bounds(prepared.schema)
    delta_select = 0.0 if public else delta / 2
    rho = cdp_rho(epsilon, delta - delta_select)
    rho_domain = 0.0 if domain_free else DOMAIN_SHARE * rho
    columns, released, split_domain = _release_domain(
        prepared.schema,
        matrix,
        public,
        rho_domain,
        delta_select,
        gen.n_bins,
        rng,  # type: ignore[attr-defined]
    )
    tokenizer = Tokenizer([codec_from_release(c) for c in columns])
    codes = tokenizer.encode(matrix, rng)
    private = {
        "epsilon": epsilon,
        "delta": delta - delta_select,
        "max_grad_norm": float(gen.max_grad_norm),  # type: ignore[attr-defined]
        "prior_rho": rho_domain,
        "noise_seed": gen.noise_seed,  # type: ignore[attr-defined]
    }
    gen.rules_ = []  # type: ignore[attr-defined]  # rules would be read from the data for free
    # nor bounds or sums (an earlier fit without DP on the same object left its own)
    gen.orders_, gen.relations_, gen.ties_ = [], None, []  # type: ignore[attr-defined]
    result = gen._train(tokenizer, codes, progress, private)  # type: ignore[attr-defined]
    sgd = result.private.budget()

    gen.schema_ = released  # type: ignore[attr-defined]
    gen.encoder_ = TableEncoder(released)  # type: ignore[attr-defined]
    gen.discrete_ = gen.encoder_.discrete  # type: ignore[attr-defined]
    gen.cardinalities_ = gen.encoder_.cardinalities  # type: ignore[attr-defined]
    gen.train_profile_ = None  # type: ignore[attr-defined]
    gen.train_hashes_ = np.empty(0, dtype=np.uint64)  # type: ignore[attr-defined]
    gen.dp_budget_ = budget_record(  # type: ignore[attr-defined]
        MECHANISM,
        sgd.epsilon_spent,
        delta,
        {
            "epsilon_target": epsilon,
            "rho_domain": rho_domain,
            "domain": split_domain,
            "dp_sgd": sgd.as_dict(),
            "delta_dp_sgd_and_domain_rdp": delta - delta_select,
            "delta_category_selection": delta_select,
        },
        ACCOUNTANT,
        public_schema=public,
        row_count="public (DP-SGD's sampling rate uses n; add/remove-one adjacency)",
    )
