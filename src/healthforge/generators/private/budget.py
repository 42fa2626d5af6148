"""How a DP fit splits its (epsilon, delta) between the domain release and the model."""

from __future__ import annotations

from healthforge.data.schema import Schema
from healthforge.generators.private.public_schema import has_all_bounds
from healthforge.privacy.accounting import cdp_rho

DOMAIN_SHARE = 0.1  # share of rho spent on the bounds a public schema lacks
PRIVATE_DOMAIN_SHARE = 0.25  # without a public schema: a usable domain is worth more


def private_budget(
    epsilon: float, delta: float, public: bool, schema: Schema
) -> tuple[float, float, float]:
    """``(rho, rho_domain, delta_select)`` of a DP fit.

    See :func:`~healthforge.generators.private.fit.private_fit`: without a public schema
    ``delta / 2`` goes to the category release and ``PRIVATE_DOMAIN_SHARE`` of rho to the
    domain; with a public schema lacking some numeric bounds ``DOMAIN_SHARE``; with a
    complete one nothing.
    """
    delta_select = 0.0 if public else delta / 2
    rho = cdp_rho(epsilon, delta - delta_select)
    if not public:
        share = PRIVATE_DOMAIN_SHARE
    elif has_all_bounds(schema):
        share = 0.0
    else:
        share = DOMAIN_SHARE
    return rho, rho * share, delta_select
