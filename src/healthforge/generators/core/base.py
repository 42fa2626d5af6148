"""The generator contract: parameters in ``__init__``, ``fit``, then ``sample``.

Subclasses implement two methods on the shared numeric encoding
(:class:`healthforge.data.encoding.TableEncoder`):

* ``_fit(X, progress)`` with ``X`` of shape ``(n_rows, n_modelled)``, NaN for missing;
* ``_sample(n, rng)`` returning an encoded matrix of shape ``(n, n_modelled)``.

Wrappers that mix other generators' rows (``ensemble``, ``fair``) draw from them with the
public :meth:`Generator.sample_encoded`, never with a member's private ``_sample``.

Everything else - validation, schema handling, decoding back to the original columns,
types, spellings, bounds and decimals, conditions, the guard against copying rare
training rows, chunked streaming, determinism and persistence - lives here, once.

The copy guard redraws a synthetic row equal to a *rare* training row: one whose full
pattern (every modelled column, missing values included) occurs fewer than
``RARE_PATTERN_K`` times in the training data. A pattern that many patients share singles
no one out, and redrawing it would bias the data (on a 300-row table with 40% missing
values, redrawing every copy moved missing shares by -0.11); such draws are kept and counted.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from healthforge.data.derived import add_derived
from healthforge.data.encoding import TableEncoder
from healthforge.data.prepare import PreparedData, prepare
from healthforge.data.schema import Schema
from healthforge.errors import HealthForgeError
from healthforge.generators.core import conditions as cond
from healthforge.generators.core.column_rules import ColumnRules
from healthforge.generators.core.constraints import EncodedConstraint, encoded_constraints
from healthforge.generators.core.persistence import save_model
from healthforge.generators.core.rarity import describe_rarity, training_profile
from healthforge.generators.private.fit import PrivateFit, private_fit
from healthforge.progress import ProgressCallback, report

CHUNK_ROWS = 50_000  # fixed, so output depends on seed and n only, not on memory settings
MAX_DRAW_ROUNDS = 50  # rejection rounds before a condition is declared too rare
MAX_CONDITION_DRAWS = 50_000_000  # per chunk (as 50 rounds of 1M did); fail once projected above
MAX_ROWS = 2_000_000_000
# A training pattern held by fewer rows than this is rare: an exact synthetic copy of it is
# redrawn. 2 (unique rows only) matches what the privacy filter and the singling-out attack
# count as identifying: one row. Every redraw biases the output toward patterns the
# training data lacks; on a 300-row table with 40% missing values the missing share moved
# by -0.015 at k = 2, -0.045 at k = 3 and -0.108 when every copy was redrawn.
RARE_PATTERN_K = 2


class Generator(ABC):
    """Base class of every generator.

    Class attributes describe the generator for the registry: what data it handles,
    whether it conditions natively, whether it offers differential privacy.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    family: ClassVar[str] = "statistical"
    data_types: ClassVar[tuple[str, ...]] = ("continuous", "integer", "categorical", "datetime")
    conditioning: ClassVar[str] = "rejection"  # "native" or "rejection"
    differential_privacy: ClassVar[bool] = False
    high_dimensional: ClassVar[bool] = True  # handles p >> n tables (e.g. gene expression)
    # keeps exact lookup/sum rules of the training rows (core.column_rules) when its
    # ``exact_rules`` parameter is on; never under differential privacy
    keeps_column_rules: ClassVar[bool] = False
    # during a private fit only: the release ``_fit`` builds on (see :meth:`fit`)
    _private_run: PrivateFit | None

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    # -- scikit-learn style parameters ---------------------------------------------
    def get_params(self) -> dict[str, Any]:
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    @property
    def fitted(self) -> bool:
        return hasattr(self, "encoder_")

    @property
    def is_private(self) -> bool:
        """True when this configured instance gives a differential-privacy guarantee.

        The class attribute ``differential_privacy`` only says the generator *can* be
        private (listings, hints); every decision that depends on privacy (refusing DP
        ensemble members or ``fair_by``, the strict preset, what a fit may keep of the
        exact rows) asks the instance, since e.g. ``lm`` is private only with ``epsilon``.
        """
        return type(self).differential_privacy

    # -- fitting ------------------------------------------------------------------------
    def fit(
        self,
        data: pd.DataFrame | PreparedData,
        schema: Schema | None = None,
        *,
        target: str | None = None,
        drop: list[str] | tuple[str, ...] = (),
        progress: ProgressCallback | None = None,
    ) -> Self:
        """Learn the distribution of ``data`` (``(n_rows, n_columns)``).

        Identifier and free-text columns are excluded (see ``excluded_``). ``schema``
        overrides inference; the data is checked against it.

        A private instance (:attr:`is_private`) spends exactly its (epsilon, delta) and
        starts with :func:`~healthforge.generators.private.fit.private_fit`: a ``schema``
        passed here is public knowledge, the schema inside a :class:`PreparedData` is not
        (it is usually inferred from these very rows: pass ``fit(prepared.frame,
        prepared.schema)`` to vouch for it), and the rest of the domain is released with
        DP. Its ``_fit`` reads that release from ``self._private_run``; the model keeps
        only the released domain: no training profile, column rules or row hashes.
        """
        self._before_fit()
        run = None
        if self.is_private:
            run = private_fit(
                self.name, data, schema, target=target, drop=drop, check=self._adopt,
                **self._privacy(),
            )  # fmt: skip
            prepared, encoder, matrix = run.prepared, run.encoder, run.matrix
        else:
            prepared = (
                data if isinstance(data, PreparedData) else prepare(data, schema, target, drop)
            )
            if len(prepared.frame) < 2:
                raise HealthForgeError("need at least 2 rows to fit a generator")
            encoder = TableEncoder(prepared.schema)
            matrix = encoder.encode(prepared.frame)
            self._adopt(prepared, encoder)
        # marginal shares for the "too rare" message; a DP model must not keep exact ones
        self.train_profile_ = None if run else training_profile(prepared.frame, prepared.schema)
        # what subclasses need to know about the encoded columns, set before _fit
        self.discrete_ = encoder.discrete
        self.cardinalities_ = encoder.cardinalities
        self._private_run = run
        try:
            self._fit(matrix, progress)
        finally:
            del self._private_run  # it holds the rows and the noise generator: never kept
        if run is not None:  # only the released domain is kept, nothing read off the rows
            self.schema_ = run.released
            self.encoder_ = TableEncoder(run.released)
            self.column_rules_ = None
            self.train_hashes_ = np.empty(0, dtype=np.uint64)  # hashes would reveal members
            self.__dict__.pop("common_hashes_", None)
            return self
        self.column_rules_ = self._learn_column_rules(matrix)
        self.encoder_ = encoder
        rare, common = _pattern_hashes(encoder.decode(matrix), RARE_PATTERN_K)
        self.train_hashes_ = rare  # what the copy guard rejects; saved with the model
        # only to count kept matches in sample_stats_; never written to a model file
        self.common_hashes_ = _Unsaved(common)
        return self

    def _before_fit(self) -> None:  # noqa: B027 - a hook: most generators need nothing here
        """Checks and clean-up before a fit touches the data (parameters read late)."""

    def _privacy(self) -> dict[str, Any]:
        """How a private instance fits: ``private_fit``'s ``bounds``, ``epsilon``, ``delta``,
        ``noise_seed`` and ``max_bins`` (bins per numeric column of the released domain).
        Asked only when :attr:`is_private`; a generator that can be private overrides it."""
        raise NotImplementedError(f"{type(self).__name__} is private but has no privacy settings")

    def _adopt(self, prepared: PreparedData, encoder: TableEncoder) -> None:
        """Take the prepared table's schema and size; refuse what this generator cannot fit.
        Runs before a private fit draws any noise."""
        self.schema_ = prepared.schema
        self.excluded_ = dict(prepared.excluded)
        self.n_train_ = len(prepared.frame)
        self._check_supported(encoder)

    def _check_supported(self, encoder: TableEncoder) -> None:
        # a model fitted on a few hundred rows cannot learn more columns than it has rows
        if not self.high_dimensional and len(encoder.columns) > self.n_train_:
            raise HealthForgeError(
                f"generator '{self.name}' does not handle tables with more columns than rows "
                f"({len(encoder.columns)} columns, {self.n_train_} rows)",
                "use gaussian_copula or bayesian_network for high-dimensional data",
            )

    def _learn_column_rules(self, X: np.ndarray) -> ColumnRules | None:
        if not (self.keeps_column_rules and getattr(self, "exact_rules", False)):
            return None
        if self.is_private:  # exact statistics of the rows: never under DP
            return None
        modelled = self.schema_.modelled
        names = [c.name for c in modelled]
        target = self.schema_.target
        exclude = (names.index(target),) if target in names else ()  # the target is learnt
        decimals = [c.decimals for c in modelled]
        return ColumnRules.learn(X, self.discrete_, decimals, exclude) or None

    @abstractmethod
    def _fit(self, X: np.ndarray, progress: ProgressCallback | None) -> None:
        """Fit on encoded ``X`` of shape ``(n_rows, n_modelled)``, NaN for missing."""

    @abstractmethod
    def _sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` encoded rows, shape ``(n, n_modelled)``."""

    # -- sampling -----------------------------------------------------------------------
    # duplicates: sample_chunks restates this signature (this collects its chunks)
    def sample(
        self,
        n: int,
        seed: int | None = None,
        conditions: cond.ConditionsLike = None,
        progress: ProgressCallback | None = None,
    ) -> pd.DataFrame:
        """``n`` synthetic rows with the training columns (identifiers excluded)."""
        chunks = list(self.sample_chunks(n, seed=seed, conditions=conditions, progress=progress))
        return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]

    # duplicates: the signature of sample, which collects these chunks
    def sample_chunks(
        self,
        n: int,
        seed: int | None = None,
        conditions: cond.ConditionsLike = None,
        progress: ProgressCallback | None = None,
        offset: int = 0,
    ) -> Iterator[pd.DataFrame]:
        """Yield ``n`` rows in chunks of at most ``CHUNK_ROWS``: constant memory for any ``n``.

        Same seed, same rows. Every row satisfies ``conditions``; rows identical to a
        rare training row (one whose pattern fewer than ``RARE_PATTERN_K`` training rows
        share) are discarded and redrawn. ``sample_stats_`` counts them
        (``rejected_copies``) and the kept rows equal to a common training pattern
        (``kept_common_matches``; None when not known: a model loaded from a file or a DP
        model keeps no hashes of common rows).

        ``offset`` (a multiple of ``CHUNK_ROWS``): start at that row of the ``seed``'s
        stream, so rows ``offset`` to ``offset + n`` equal those rows of one longer call -
        a shard of a large sample drawn on its own (:mod:`healthforge.distributed`).
        """
        if not self.fitted:
            raise HealthForgeError("the generator is not fitted yet", "call fit() first")
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n <= 0:
            raise HealthForgeError(f"number of rows must be a positive whole number, not {n!r}")
        if n > MAX_ROWS:
            raise HealthForgeError(f"{n:,} rows is more than the {MAX_ROWS:,} supported")
        if isinstance(offset, bool) or not isinstance(offset, int | np.integer):
            raise HealthForgeError(f"offset must be a whole number, not {offset!r}")
        if offset < 0 or offset % CHUNK_ROWS:
            raise HealthForgeError(f"offset must be a multiple of {CHUNK_ROWS:,}, not {offset!r}")
        resolved = cond.resolve(cond.parse_conditions(conditions), self.schema_)
        constraints = encoded_constraints(resolved, self.encoder_.columns)
        base_seed = self.seed if seed is None else seed
        self.sample_stats_: dict[str, int | None] = {
            "drawn": 0,
            "rejected_conditions": 0,
            "rejected_copies": 0,
            "kept_common_matches": 0 if self._common_hashes() is not None else None,
        }
        done = 0
        first = int(offset) // CHUNK_ROWS
        for index, start in enumerate(range(0, int(n), CHUNK_ROWS), start=first):
            size = min(CHUNK_ROWS, int(n) - start)
            rng = np.random.default_rng([int(base_seed) & 0xFFFFFFFF, index])
            chunk = self._draw(size, rng, resolved, constraints)
            done += size
            report(progress, "sampling", done, int(n))
            yield add_derived(chunk, self.schema_)  # after the copy check: never modelled

    def _draw(
        self,
        size: int,
        rng: np.random.Generator,
        conditions: list[cond.Condition],
        constraints: dict[int, EncodedConstraint],
    ) -> Any:
        kept: list[pd.DataFrame] = []
        have = 0
        accepted_share = 1.0
        for _ in range(MAX_DRAW_ROUNDS):
            want = size - have
            # overdraw only once rows are known to be rejected, and then with a margin
            factor = 1.0 if accepted_share >= 1.0 else 1.2 / max(accepted_share, 1e-3)
            batch = int(min(np.ceil(want * factor), 20 * CHUNK_ROWS))
            frame = self._decoded(batch, rng, constraints)
            keep = np.ones(len(frame), dtype=bool)
            if conditions:
                keep &= cond.mask(frame, conditions)
                self.sample_stats_["rejected_conditions"] += int((~keep).sum())
            hashes = _row_hashes(frame)
            copies = np.isin(hashes, self.train_hashes_) & keep
            self.sample_stats_["rejected_copies"] += int(copies.sum())
            keep &= ~copies
            self.sample_stats_["drawn"] += batch
            accepted_share = max(keep.mean(), 1.0 / (batch + 1))
            kept.append(frame[keep].head(want))
            have += len(kept[-1])
            common = self._common_hashes()
            if common is not None:  # of the rows actually returned
                matches = np.isin(hashes[keep][:want], common)
                self.sample_stats_["kept_common_matches"] += int(matches.sum())
            if have >= size:
                return pd.concat(kept, ignore_index=True)
            drawn_so_far = self.sample_stats_["drawn"]
            if conditions and (size - have) * (drawn_so_far + 1) / (have + 1) > MAX_CONDITION_DRAWS:
                break  # at the rate seen so far the rows would take too long: say so now
        drawn = self.sample_stats_["drawn"]
        share = have / max(drawn, 1)
        if conditions:
            raise HealthForgeError(
                "conditions " + "; ".join(map(str, conditions)) + f" are too rare: only {have} of "
                f"{drawn:,} generated rows ({share:.4%}) satisfied them."
                + describe_rarity(conditions, getattr(self, "train_profile_", None)),
                "relax the conditions or use a generator with native conditioning",
            )
        raise HealthForgeError(
            f"generator '{self.name}' keeps reproducing training rows ({share:.1%} of draws "
            "were new)",
            "the training data may be too small or too coarse to synthesise safely",
        )

    def _common_hashes(self) -> np.ndarray | None:
        """Hashes of the common training patterns, or None when this model has none."""
        if self.is_private:
            return None  # a count against the exact training rows is outside any DP budget
        held = getattr(self, "common_hashes_", None)
        return None if held is None else held.value

    def _decoded(
        self, n: int, rng: np.random.Generator, constraints: dict[int, EncodedConstraint]
    ) -> pd.DataFrame:
        return self.encoder_.decode(self.sample_encoded(n, rng, constraints))

    def sample_encoded(
        self,
        n: int,
        rng: np.random.Generator,
        constraints: dict[int, EncodedConstraint] | None = None,
    ) -> np.ndarray:
        """``n`` rows in the shared encoding, shape ``(n, n_modelled)``, drawn as
        :meth:`sample` draws them before decoding: natively given ``constraints`` when the
        generator conditions natively, with its column rules applied.

        For wrappers that mix the rows of fitted members with the same schema (``ensemble``,
        ``fair``): the rows are *not* yet filtered by conditions nor checked against
        training rows; the wrapper's own :meth:`sample` does both once, on the mixture.
        ``rng`` is the caller's, so the mixture stays determined by its seed.
        """
        if not self.fitted:
            raise HealthForgeError("the generator is not fitted yet", "call fit() first")
        constraints = constraints or {}
        if constraints and self.conditioning == "native":
            X = self._sample_given(n, rng, constraints)
        else:
            X = self._sample(n, rng)
        rules = getattr(self, "column_rules_", None)
        if rules:
            rules.apply(X, skip=set(constraints))  # conditioned columns stay as asked
        return X

    def _sample_given(
        self, n: int, rng: np.random.Generator, constraints: dict[int, EncodedConstraint]
    ) -> np.ndarray:
        """Draw ``n`` encoded rows from the distribution given ``constraints``.

        Generators with ``conditioning = "native"`` override this; rows are still checked
        against the exact conditions afterwards, so a native sampler may be approximate
        at the edges (e.g. within a bin) but must not distort the conditional distribution.
        """
        return self._sample(n, rng)

    # -- persistence -------------------------------------------------------------------
    def save(self, path: str) -> None:
        save_model(self, path)


def _row_hashes(df: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per row, stable for equal values and dtypes."""
    return pd.util.hash_pandas_object(df, index=False).to_numpy()


def _pattern_hashes(df: pd.DataFrame, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct row hashes of ``df`` split into rare (fewer than ``k`` rows) and common."""
    values, counts = np.unique(_row_hashes(df), return_counts=True)
    return values[counts < k], values[counts >= k]


class _Unsaved:
    """Holds a value in memory only: pickling (saving the model) drops it to None."""

    def __init__(self, value: np.ndarray | None = None) -> None:
        self.value = value

    def __reduce__(self) -> tuple[type, tuple]:
        return (_Unsaved, ())

    def __deepcopy__(self, memo: dict) -> _Unsaved:
        return _Unsaved(self.value)  # a copy in memory is not a saved file
