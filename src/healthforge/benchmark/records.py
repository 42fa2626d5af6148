"""What one benchmark run measured, and the mean ± sd summaries built from many runs."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

# metric name in the records -> (section, key) in evaluate()'s summary
# duplicates: a table, one row per metric; its rows look alike, no logic repeats
METRICS: dict[str, tuple[str, str]] = {
    "detection_auc": ("fidelity", "detection_auc"),
    "column_similarity": ("fidelity", "column_similarity"),
    "utility_ratio": ("utility", "ratio"),
    "dcr_ratio": ("privacy", "dcr_ratio"),
    "mia_auc": ("privacy", "mia_auc"),
    "exact_match_rate": ("privacy", "exact_match_rate"),
    "singling_out_risk": ("privacy", "singling_out_risk"),
    "linkability_risk": ("privacy", "linkability_risk"),
    "inference_risk": ("privacy", "inference_risk"),
}
TIMINGS = (
    "fit_seconds",
    "sample_seconds_10k",
    "peak_rss_mb",
    "added_rss_mb",
    "fit_ratio",
    "sample_ratio",
)


@dataclass
class RunRecord:
    """One method on one dataset split: status, timings and headline metrics.

    ``status`` is ``ok``, ``refused`` (the method declined the data), ``failed`` (it
    crashed), ``timeout``, ``unavailable`` (a peer that is not installed) or ``not run``;
    ``reason`` says why for all but ``ok``. Ratios are against the reference generator on
    the same dataset and repeat, so they survive a machine that is busy with other work.
    ``epsilon`` is the privacy budget a DP method was given (``None`` for the others);
    ``key`` identifies the job (dataset, method, ε, repeat, settings, ``code_version``)
    so that a later run can reuse it instead of measuring it again.
    """

    dataset: str
    method: str
    source: str  # "healthforge" or the peer library's name
    repeat: int
    split_seed: int
    status: str
    reason: str = ""
    fit_seconds: float | None = None
    sample_seconds_10k: float | None = None
    rows_sampled: int | None = None
    baseline_rss_mb: float | None = None
    peak_rss_mb: float | None = None
    added_rss_mb: float | None = None
    evaluate_seconds: float | None = None
    eval_draws: int | None = None  # blocks of len(train) rows evaluated (None: one)
    draw_sd: dict[str, float | None] = field(default_factory=dict)
    fit_ratio: float | None = None
    sample_ratio: float | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    epsilon: float | None = None
    key: str = ""
    code_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def label(self) -> str:
        """The method as tables show it: ``aim ε=1`` for a DP run at a given budget."""
        return self.method if self.epsilon is None else f"{self.method} ε={self.epsilon:g}"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def value(self, name: str) -> float | None:
        return self.metrics.get(name) if name in METRICS else getattr(self, name)


@dataclass(frozen=True)
class Stat:
    """Mean and sample standard deviation over the repeats that produced a value."""

    mean: float | None
    sd: float | None
    n: int

    @classmethod
    def of(cls, values: list[float | None]) -> Stat:
        present = [float(v) for v in values if v is not None and math.isfinite(float(v))]
        if not present:
            return cls(None, None, 0)
        mean = sum(present) / len(present)
        if len(present) < 2:
            return cls(mean, None, 1)
        var = sum((v - mean) ** 2 for v in present) / (len(present) - 1)
        return cls(mean, math.sqrt(var), len(present))

    def to_dict(self) -> dict[str, float | int | None]:
        return {"mean": self.mean, "sd": self.sd, "n": self.n}


@dataclass
class Summary:
    """All runs of one method on one dataset, folded into mean ± sd per field."""

    dataset: str
    method: str
    source: str
    runs: int
    ok: int
    status: str  # "ok", or the first non-ok status with its reason when nothing succeeded
    stats: dict[str, Stat]
    epsilon: float | None = None
    draws: tuple[int, int] = (1, 1)  # fewest and most blocks evaluated per run

    @property
    def label(self) -> str:
        return self.method if self.epsilon is None else f"{self.method} ε={self.epsilon:g}"

    # duplicates: to_dict methods list each class's own fields; alike in shape only
    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "method": self.method,
            "epsilon": self.epsilon,
            "source": self.source,
            "runs": self.runs,
            "ok": self.ok,
            "status": self.status,
            "stats": {k: v.to_dict() for k, v in self.stats.items()},
            "eval_draws": list(self.draws),
        }


def add_ratios(records: list[RunRecord], reference: str) -> None:
    """Fill ``fit_ratio``/``sample_ratio``: each time over the reference's on the same
    dataset and repeat (absolute seconds on a shared machine are noisy; ratios less so).

    A record that already has a ratio keeps it: it was paired with the reference run
    measured in the same session, under the same load, when it was cached."""
    ref = {(r.dataset, r.repeat): r for r in records if r.method == reference and r.status == "ok"}
    for record in records:
        base = ref.get((record.dataset, record.repeat))
        if base is None or record.status != "ok" or record.fit_ratio is not None:
            continue
        record.fit_ratio = _ratio(record.fit_seconds, base.fit_seconds)
        record.sample_ratio = _ratio(record.sample_seconds_10k, base.sample_seconds_10k)


def _ratio(value: float | None, base: float | None) -> float | None:
    if value is None or not base:
        return None
    return value / base


def summarise(records: list[RunRecord]) -> list[Summary]:
    """One :class:`Summary` per (dataset, method, ε), in first-seen order."""
    groups: dict[tuple[str, str, float | None], list[RunRecord]] = {}
    for record in records:
        groups.setdefault((record.dataset, record.method, record.epsilon), []).append(record)
    out = []
    for (dataset, method, epsilon), runs in groups.items():
        ok = [r for r in runs if r.status == "ok"]
        if ok:
            status = "ok"
        else:
            first = runs[0]
            status = f"{first.status}: {first.reason}" if first.reason else first.status
        stats = {name: Stat.of([r.value(name) for r in ok]) for name in (*TIMINGS, *METRICS)}
        source = runs[0].source
        blocks = [r.eval_draws or 1 for r in ok] or [1]
        draws = (min(blocks), max(blocks))
        out.append(
            Summary(dataset, method, source, len(runs), len(ok), status, stats, epsilon, draws)
        )
    return out
