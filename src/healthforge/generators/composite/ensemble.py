"""``ensemble``: a mixture of generators, each synthetic row drawn by one of them.

Every member is fitted on the same rows; a sampled row comes from member ``i`` with
probability ``w_i``. Why a mixture helps: our generators err in different directions.
On NHEFS ``ddpm``'s rows are smoother than real ones (a classifier tells them apart at
AUC 0.63) while ``cart``'s sit close to training rows (0.55, lower utility); ``ddpm`` 2 :
``cart`` 1 is told apart at 0.51 with the utility of ``ddpm`` (measured in
``benchmarks/results/ensemble.md``). The fit costs the members' fits together.

Conditions go to each member: natively where it conditions natively, otherwise its rows
are filtered like any rejection sampler's, so under a rare condition the members that
condition natively supply most rows. Differentially private members are refused: their
budgets would add up, which one DP generator with the whole budget does better.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from healthforge.data.encoding import TableEncoder
from healthforge.data.prepare import PreparedData
from healthforge.errors import HealthForgeError
from healthforge.generators.core.base import Generator
from healthforge.generators.core.constraints import EncodedConstraint
from healthforge.progress import ProgressCallback, report

DEFAULT_MEMBERS = "ddpm:2,cart:1"


def parse_members(members: str | dict[str, float]) -> list[tuple[str, float]]:
    """``"ddpm:2,cart:1"`` (or ``{"ddpm": 2, "cart": 1}``) as ``[("ddpm", 2.0), ("cart", 1.0)]``;
    a member without a weight weighs 1. A name may repeat: two fits with other seeds."""
    if isinstance(members, dict):
        items = [(str(k), v) for k, v in members.items()]
    else:
        items = []
        for part in str(members).split(","):
            name, _, weight = part.strip().partition(":")
            items.append((name.strip(), weight.strip() or 1.0))
    parsed = []
    for name, weight in items:
        try:
            value = float(weight)
        except (TypeError, ValueError):
            value = float("nan")
        if not name or not np.isfinite(value) or value <= 0:
            raise HealthForgeError(
                f"ensemble members must be NAME:WEIGHT with a positive weight, not {members!r}",
                f"e.g. --param members={DEFAULT_MEMBERS}",
            )
        parsed.append((name, value))
    if not parsed:
        raise HealthForgeError("ensemble needs at least one member", f"e.g. {DEFAULT_MEMBERS}")
    return parsed


class EnsembleGenerator(Generator):
    """Fit every member on the same rows; draw each row from one member, chosen with
    the members' weights (``members="ddpm:2,cart:1"``). ``params`` maps a member's name
    to its constructor parameters, e.g. ``{"ddpm": {"max_epochs": 100}}``."""

    name = "ensemble"
    summary = "mixture of generators (default ddpm 2 : cart 1), each row drawn by one member"
    family = "ensemble"
    conditioning = "native"  # passed on to the members that condition natively
    high_dimensional = False  # as its members: ddpm refuses more columns than rows

    def __init__(
        self,
        members: str | dict[str, float] = DEFAULT_MEMBERS,
        params: dict[str, dict[str, Any]] | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(seed)
        self.members = members
        self.params = params

    def _check_supported(self, encoder: TableEncoder) -> None:
        from healthforge.generators.core.registry import generator_class, get_generator

        parsed = parse_members(self.members)
        params = self.params or {}
        unknown = set(params) - {name for name, _ in parsed}
        if unknown:
            raise HealthForgeError(
                f"ensemble params name {', '.join(sorted(unknown))}, which is not a member",
                "give params only for the generators listed in members",
            )
        seeded = [name for name, given in (self.params or {}).items() if "seed" in given]
        if seeded:
            raise HealthForgeError(
                f"ensemble params give member '{seeded[0]}' a seed; members are seeded from "
                "the ensemble's own",
                "set the ensemble's seed instead (members get seed, seed + 1, ...)",
            )
        for name, _ in parsed:
            cls = generator_class(name)
            # privacy is a property of the configured member (lm is private only with
            # epsilon), so the check builds it with its params; nothing is fitted yet
            private = name != self.name and get_generator(name, **params.get(name, {})).is_private
            if private or name == self.name:
                why = "is differentially private" if private else "is this one"
                raise HealthForgeError(
                    f"ensemble member '{name}' {why}",
                    "use non-private members, or one DP generator with the whole budget",
                )
            if not cls.high_dimensional and len(encoder.columns) > self.n_train_:
                raise HealthForgeError(
                    f"ensemble member '{name}' does not handle tables with more columns than "
                    f"rows ({len(encoder.columns)} columns, {self.n_train_} rows)",
                    "use members such as cart or gaussian_copula for high-dimensional data",
                )

    def _fit(self, X: np.ndarray, progress: ProgressCallback | None) -> None:
        from healthforge.generators.core.registry import get_generator

        parsed = parse_members(self.members)
        params = self.params or {}
        # every member built before any is fitted, so a bad parameter costs no fitting
        models = [
            get_generator(name, seed=self.seed + i, **params.get(name, {}))
            for i, (name, _) in enumerate(parsed)
        ]
        prepared = PreparedData(TableEncoder(self.schema_).decode(X), self.schema_, {})
        for i, ((name, _), model) in enumerate(zip(parsed, models, strict=True)):
            report(progress, f"fitting ensemble member {name}", i, len(parsed))
            model.fit(prepared, progress=progress)
        report(progress, "fitting ensemble members", len(parsed), len(parsed))
        self.models_: list[Generator] = models
        weights = np.array([w for _, w in parsed])
        self.weights_ = weights / weights.sum()

    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self._sample_given(n, rng, {})

    def _sample_given(
        self, n: int, rng: np.random.Generator, constraints: dict[int, EncodedConstraint]
    ) -> np.ndarray:
        counts = rng.multinomial(n, self.weights_)
        parts = []
        for model, k in zip(self.models_, counts, strict=True):
            if k == 0:
                continue
            # each member as its own sample() would draw, minus decoding and copy checks
            # (those run once, on the mixture, in the base class)
            parts.append(model.sample_encoded(int(k), rng, constraints))
        out = np.concatenate(parts, axis=0)
        return out[rng.permutation(len(out))]
