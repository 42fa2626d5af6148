"""Fairness-aware generation: one generator per subgroup, sampled group by group.

A single generator fitted on everyone learns the majority's patterns best; a small
group (e.g. Black or other participants, 13% of NHEFS) can come out as a blurred copy of
the majority. :class:`FairGenerator` fits the base generator separately on the rows of
each group of ``fair_by`` and draws each group's rows from its own model, so the
distribution of every other column *given the group* is learnt from that group only.
Group sizes follow the training shares (``balance=False``) or are equal (``True``).

The trade-off: each model sees fewer rows, so very small groups are refused
(``min_group_rows``) rather than modelled from a handful of people.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from healthforge.data.encoding import TableEncoder
from healthforge.data.prepare import PreparedData
from healthforge.errors import HealthForgeError
from healthforge.generators.core.base import Generator
from healthforge.progress import ProgressCallback, report


class FairGenerator(Generator):
    """Fit ``base`` once per group of the discrete column ``fair_by``; sample per group.

    Not in the registry, on purpose: it is a wrapper around the generator the user chose
    (``--fair-by COLUMN`` / a spec's ``generator.fair``), and ``fair_by`` names a column of
    one particular table, so it has no default that works on any data. Registered, every
    "all generators" list (``demo --generators all``, the benchmark's default) would run
    it and fail; ``--generator fair`` would also duplicate ``--fair-by``. It keeps the
    generator contract all the same, and the contract test runs it like a registered one.
    """

    name = "fair"
    summary = "one base generator per subgroup of a column, sampled group by group"
    family = "wrapper"

    # duplicates: parameters spelled out one by one, as every generator's are: get_params and
    # the registry read this signature (scikit-learn convention)
    def __init__(
        self,
        base: str = "bayesian_network",
        fair_by: str | None = None,
        params: dict[str, Any] | None = None,
        balance: bool = False,
        min_group_rows: int = 20,
        seed: int = 0,
    ) -> None:
        super().__init__(seed)
        self.base = base
        self.fair_by = fair_by
        self.params = params
        self.balance = balance
        self.min_group_rows = min_group_rows

    def _fit(self, X: np.ndarray, progress: ProgressCallback | None) -> None:
        from healthforge.generators.core.registry import get_generator

        if self.fair_by is None or self.fair_by not in self.schema_.modelled_names:
            raise HealthForgeError(
                f"fair_by must name a modelled column, not {self.fair_by!r}",
                "e.g. fair_by='race'",
            )
        column = self.schema_[self.fair_by]
        if not column.is_discrete:
            raise HealthForgeError(
                f"fair_by column '{self.fair_by}' is {column.kind}; it needs categories",
                "add a derived group column or use a categorical column such as sex or race",
            )
        # bad names fail before any fitting; a private base is refused: one DP model per
        # group would need a per-group budget this wrapper does not account
        if get_generator(self.base, **(self.params or {})).is_private:
            raise HealthForgeError(
                f"fair_by does not wrap the differentially private generator '{self.base}'",
                "drop fair_by, or use a non-DP generator such as cart or bayesian_network",
            )
        self.group_index_ = self.schema_.modelled_names.index(self.fair_by)
        codes = X[:, self.group_index_]
        groups = [float(g) for g in np.unique(codes[np.isfinite(codes)])]
        if np.isnan(codes).any():
            groups.append(float("nan"))  # missing is a group of its own
        decoder = TableEncoder(self.schema_)
        self.groups_: list[float] = []
        self.models_: list[Generator] = []
        shares = []
        for step, group in enumerate(groups):
            rows = np.isnan(codes) if np.isnan(group) else codes == group
            label = "missing" if np.isnan(group) else column.categories[int(group)]
            if rows.sum() < self.min_group_rows:
                raise HealthForgeError(
                    f"group {self.fair_by}={label} has {int(rows.sum())} rows, fewer than "
                    f"min_group_rows={self.min_group_rows}",
                    "merge small groups first or lower min_group_rows",
                )
            report(progress, f"fitting one model per {self.fair_by}", step, len(groups))
            prepared = PreparedData(decoder.decode(X[rows]), self.schema_, {})
            model = get_generator(self.base, seed=self.seed + step, **(self.params or {}))
            self.models_.append(model.fit(prepared))
            self.groups_.append(group)
            shares.append(rows.mean())
        self.shares_ = np.asarray(shares) / np.sum(shares)
        report(progress, f"fitting one model per {self.fair_by}", len(groups), len(groups))

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        shares = np.full(len(self.groups_), 1 / len(self.groups_)) if self.balance else self.shares_
        counts = rng.multinomial(n, shares)
        parts = []
        for model, group, k in zip(self.models_, self.groups_, counts, strict=True):
            if k == 0:
                continue
            part = model.sample_encoded(int(k), rng)  # conditions and copies: checked once
            part[:, self.group_index_] = group  # the group of a row is never in doubt
            parts.append(part)
        out = np.concatenate(parts, axis=0)
        return out[rng.permutation(len(out))]
