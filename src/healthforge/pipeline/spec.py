"""The run specification: everything one run needs, declarative and serialisable.

A :class:`RunSpec` names the data (source, schema, target, dropped columns), the split,
the generator and its parameters, the privacy preset, the conditions, the rows, the
seed, the evaluation and the outputs. It round-trips through JSON (:meth:`RunSpec.to_json`
/ :meth:`RunSpec.from_json`), so a CLI run, a service job or a Ray task can store it and
replay it; a scenario YAML file is read as one (:func:`healthforge.scenarios.load_spec`).

Validation happens here, at the boundary, with one-line :class:`HealthForgeError`
messages; checks that need the data (a condition on a column the table lacks) happen in
the prepare step, before any fitting.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from healthforge.errors import HealthForgeError

SPEC_VERSION = 1
PRIVACY_CHOICES = ("none", "standard", "strict")
EVALUATE_AGAINST = ("all", "conditioned")
EVALUATE_SCHEMA = ("model", "train")


@dataclass
class DataSpec:
    """Where the real rows come from and how they are read.

    ``schema``: a schema file; for a differentially private generator it is the public
    domain (values outside it are clipped, never added). ``infer_target``: with no
    ``target``, use a bundled dataset's known outcome (or the schema's).
    ``schema_from_data``: the domain inferred from the *whole* table counts as public -
    only for datasets whose domains are published (the bundled NHEFS codebook).
    """

    source: str
    schema: str | None = None
    target: str | None = None
    infer_target: bool = True
    drop: list[str] = field(default_factory=list)
    schema_from_data: bool = False
    # leave out the rows whose target is missing (the schema still describes every row)
    drop_missing_target: bool = False
    # read a seeded uniform sample of this many rows, streamed from a Parquet source
    # larger than memory (healthforge.data.streaming), instead of every row
    sample_rows: int | None = None


@dataclass
class SplitSpec:
    """The seeded train/holdout split, made only when a holdout is needed (evaluation,
    the privacy filter, or a written train/holdout file).

    ``before_prepare``: split the raw table and let the generator prepare its training
    rows (the demo and the benchmark); otherwise the whole table is prepared first (its
    schema then covers every row) and the prepared rows are split.
    """

    holdout_fraction: float = 0.2
    before_prepare: bool = False
    # stratify on these columns jointly (every combination keeps its share) instead of
    # on the target alone
    stratify: list[str] = field(default_factory=list)
    # split even when no step of the run uses the holdout: the caller scores its own
    # models on it (the augmentation experiment)
    always: bool = False


@dataclass
class FairSpec:
    """One model per group of ``by`` (:class:`~healthforge.generators.FairGenerator`)."""

    by: str
    balance: bool = False
    min_group_rows: int = 20


@dataclass
class GeneratorSpec:
    name: str = "bayesian_network"
    params: dict[str, Any] = field(default_factory=dict)
    fair: FairSpec | None = None
    # the user left the generator at its default: a strict preset may pick its own
    default_choice: bool = False


@dataclass
class EvaluationSpec:
    """``against``: ``all`` judges the synthetic rows against the training rows (and the
    holdout); ``conditioned`` against the real rows satisfying the conditions.
    ``from_file``: evaluate the rows as read back from the written file (what the user
    gets, labels turned back into codes) rather than the in-memory frame.
    ``schema``: ``model`` judges by the fitted model's schema; ``train`` by the schema
    inferred from the training rows, the same for every method compared on one split
    (the benchmark, whose peers' rows come from no healthforge model).
    ``n_attacks``: the privacy attacks' size (``None``: the evaluation's default)."""

    against: str = "all"
    fairness_by: str | None = None
    n_estimators: int = 200
    from_file: bool = False
    title: str | None = None
    schema: str = "model"
    n_attacks: int | None = None


@dataclass
class OutputSpec:
    """Files to write; ``None`` writes nothing. ``stream``: write sampled rows chunk by
    chunk without holding them (millions of rows; not with the privacy filter)."""

    synthetic: str | None = None
    report: str | None = None
    json: str | None = None
    train: str | None = None
    holdout: str | None = None
    labels: bool = False
    stream: bool = False
    # synthetic names a folder: one Parquet file per shard of shard_rows rows and a
    # manifest (healthforge.distributed), the same bytes on every backend
    partitioned: bool = False
    shard_rows: int = 1_000_000


@dataclass
class RunSpec:
    """One run: load -> prepare -> split -> fit -> sample (+ filter) -> evaluate -> report."""

    data: DataSpec
    generator: GeneratorSpec = field(default_factory=GeneratorSpec)
    privacy: str = "none"
    privacy_filter: bool = False
    conditions: list[str] = field(default_factory=list)
    rows: int | None = None
    seed: int = 0
    split: SplitSpec = field(default_factory=SplitSpec)
    evaluation: EvaluationSpec | None = None
    outputs: OutputSpec = field(default_factory=OutputSpec)
    name: str = ""
    title: str = ""
    description: str = ""
    version: int = SPEC_VERSION

    # -- validation -------------------------------------------------------------------
    def validate(self) -> RunSpec:
        """Raise :class:`HealthForgeError` for a field that cannot work; returns self."""
        if self.version != SPEC_VERSION:
            raise HealthForgeError(
                f"run specification version {self.version} is not supported",
                f"this healthforge reads version {SPEC_VERSION}",
            )
        if not isinstance(self.data.source, str) or not self.data.source:
            raise HealthForgeError("the run specification names no data source")
        if self.privacy not in PRIVACY_CHOICES:
            raise HealthForgeError(
                f"unknown privacy choice '{self.privacy}'",
                f"use one of: {', '.join(PRIVACY_CHOICES)}",
            )
        if self.rows is not None and (
            isinstance(self.rows, bool) or not isinstance(self.rows, int) or self.rows < 1
        ):
            raise HealthForgeError(f"rows must be a positive whole number, not {self.rows!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise HealthForgeError(f"seed must be a whole number, not {self.seed!r}")
        fraction = self.split.holdout_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, int | float):
            raise HealthForgeError(f"holdout_fraction must be a number, not {fraction!r}")
        if not 0.0 < float(fraction) < 1.0:
            raise HealthForgeError(f"holdout_fraction must be between 0 and 1, not {fraction}")
        checked = (
            ("conditions", self.conditions),
            ("drop", self.data.drop),
            ("stratify", self.split.stratify),
        )
        for name, value in checked:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise HealthForgeError(f"'{name}' must be a list of strings")
        if not isinstance(self.generator.params, dict):
            raise HealthForgeError("generator 'params' must be a mapping of NAME: VALUE")
        if self.evaluation is not None and self.evaluation.against not in EVALUATE_AGAINST:
            raise HealthForgeError(
                f"unknown evaluation 'against' choice '{self.evaluation.against}'",
                f"use one of: {', '.join(EVALUATE_AGAINST)}",
            )
        if self.evaluation is not None and self.evaluation.schema not in EVALUATE_SCHEMA:
            raise HealthForgeError(
                f"unknown evaluation 'schema' choice '{self.evaluation.schema}'",
                f"use one of: {', '.join(EVALUATE_SCHEMA)}",
            )
        fair = self.generator.fair
        if fair is not None and fair.min_group_rows < 2:
            raise HealthForgeError(
                f"fair min_group_rows must be at least 2, not {fair.min_group_rows}"
            )
        if self.outputs.stream and self.outputs.synthetic is None:
            raise HealthForgeError("outputs.stream needs outputs.synthetic, the file to write")
        sample = self.data.sample_rows
        if sample is not None and (
            isinstance(sample, bool) or not isinstance(sample, int) or sample < 2
        ):
            raise HealthForgeError(f"data.sample_rows must be a whole number >= 2, not {sample!r}")
        if self.outputs.partitioned:
            from healthforge.distributed.plan import check_shard_rows

            if self.outputs.synthetic is None:
                raise HealthForgeError("outputs.partitioned needs outputs.synthetic, a folder")
            check_shard_rows(self.outputs.shard_rows)
        if self.data.schema_from_data and not self.data.source.startswith("bundled:"):
            # a domain inferred from the rows is private (docs/privacy.md): only a bundled
            # table's published codebook may stand in for a public schema
            raise HealthForgeError(
                "schema_from_data would treat the domain inferred from your rows as public",
                "write a schema (healthforge profile DATA --schema-out schema.yaml), review "
                "its bounds and categories, and pass it as data.schema",
            )
        from healthforge.generators import conditions as cond
        from healthforge.generators import get_generator
        from healthforge.pipeline.privacy import privacy_plan

        plan = privacy_plan(self)
        get_generator(plan.generator, **plan.params)  # unknown name or parameter
        cond.parse_conditions(self.conditions)  # bad syntax fails before any data is read
        return self

    # -- serialisation ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, path: str | Path | None = None) -> str:
        """The spec as JSON text; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"
        if path is not None:
            from healthforge.data.io import atomic_write_text

            atomic_write_text(Path(path), text)
        return text

    @classmethod
    def from_dict(cls, data: Any, where: str = "run specification") -> RunSpec:
        return _build(cls, data, where).validate()

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> RunSpec:
        """A spec from JSON text or a ``.json`` file."""
        text = str(text_or_path)
        where = "run specification"
        if not text.lstrip().startswith("{"):
            path = Path(text)
            if not path.is_file():
                raise HealthForgeError(f"run specification '{path}' does not exist")
            where, text = f"run specification {path}", path.read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            message = f"{where} is not valid JSON: {exc.msg} (line {exc.lineno})"
            raise HealthForgeError(message) from None
        return cls.from_dict(data, where)


def _build(kind: type, data: Any, where: str) -> Any:
    """``kind`` from a mapping, refusing unknown fields and recursing into nested specs."""
    if not isinstance(data, dict):
        raise HealthForgeError(f"{where}: expected a mapping for {kind.__name__}")
    known = {f.name: f for f in dataclasses.fields(kind)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise HealthForgeError(
            f"{where}: unknown {kind.__name__} fields: {', '.join(unknown)}",
            f"allowed fields: {', '.join(sorted(known))}",
        )
    nested = {
        "data": DataSpec,
        "generator": GeneratorSpec,
        "split": SplitSpec,
        "evaluation": EvaluationSpec,
        "outputs": OutputSpec,
        "fair": FairSpec,
    }
    values = {}
    for key, value in data.items():
        child = nested.get(key)
        if child is not None and value is not None and kind is not DataSpec:
            value = _build(child, value, where)
        values[key] = value
    try:
        return kind(**values)
    except TypeError as exc:  # a required field is missing
        raise HealthForgeError(f"{where}: {exc}") from None
