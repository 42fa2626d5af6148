"""The public benchmark evidence the selection prior is built from.

Read from the benchmark's results files (``benchmarks/results/*.json``): the harness's
files (``{"runs": [...]}``: one record per dataset x generator x epsilon x split, with its
status, metrics and fit seconds) and JSON-lines files of single-run records
(``{"dataset", "generator", "epsilon" | "epsilon_target", "utility_ratio", ...}``).
Anything else is skipped (and listed), never guessed at. Runs of other projects' generators
(``source`` other than healthforge) and generators not registered here are left out: the
policy can only recommend what ``healthforge generate`` can run.

Measurements a later file re-measured after a fix are listed in :data:`SUPERSEDED` with
the reason, and left out.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from healthforge.selection.meta import MetaFeatures
from healthforge.selection.reward import Reward

RESULTS_ENV = "HEALTHFORGE_BENCHMARK_RESULTS"
# the same evidence, shipped in the package for installs without benchmarks/results;
# refreshed by `python benchmarks/selection_evidence.py` (a test checks it is current)
SNAPSHOT = Path(__file__).parent / "resources" / "benchmark_evidence.json"
SNAPSHOT_WHERE = "benchmarks/results (snapshot shipped with healthforge)"
METRIC_NAMES = ("detection_auc", "utility_ratio", "mia_auc", "dcr_ratio", "exact_match_rate")
SUPERSEDED: dict[str, str] = {
    "privacy_eps1_splits_before.json": "re-measured after issue #20's fixes "
    "(privacy_eps1_splits_after.json)",
    "dp_deep.json": "dpctgan/dptvae at eps = 1 re-measured after issue #20's fixes "
    "(dp_deep_eps1_after20.json); its other rows ran beside other jobs or before the "
    "RNG-isolation fix",
    "privacy.json": "issue 6's first trade-off, re-measured by privacy_tradeoff.json",
}


@dataclass(frozen=True)
class EvidenceRun:
    """One benchmark run of one generator on one dataset."""

    dataset: str
    generator: str
    epsilon: float | None
    status: str  # "ok" | "refused"
    reward: Reward
    source_file: str
    split: int | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)

    # duplicates: to_dict methods list each class's own fields; alike in shape only
    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "generator": self.generator,
            "epsilon": self.epsilon,
            "status": self.status,
            "reward": self.reward.to_dict(),
            "source_file": self.source_file,
            "split": self.split,
            "metrics": dict(self.metrics),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvidenceRun:
        return cls(
            dataset=str(data["dataset"]),
            generator=str(data["generator"]),
            epsilon=_float(data.get("epsilon")),
            status=str(data.get("status", "ok")),
            reward=Reward.from_dict(data.get("reward") or {}),
            source_file=str(data.get("source_file", "")),
            split=data.get("split"),
            metrics=dict(data.get("metrics") or {}),
        )


@dataclass
class Evidence:
    """All benchmark runs read, the meta-features of their datasets, and what was skipped."""

    runs: list[EvidenceRun]
    datasets: dict[str, MetaFeatures]
    skipped: dict[str, str] = field(default_factory=dict)
    where: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "where": self.where,
            "runs": [r.to_dict() for r in self.runs],
            "datasets": {k: v.to_dict() for k, v in self.datasets.items()},
            "skipped": dict(self.skipped),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evidence:
        return cls(
            runs=[EvidenceRun.from_dict(r) for r in data.get("runs", [])],
            datasets={k: MetaFeatures.from_dict(v) for k, v in data.get("datasets", {}).items()},
            skipped=dict(data.get("skipped", {})),
            where=str(data.get("where", "")),
        )

    def without_dataset(self, dataset: str) -> Evidence:
        """The evidence with one dataset left out (leave-one-dataset-out validation)."""
        runs = [r for r in self.runs if r.dataset != dataset]
        kept = {k: v for k, v in self.datasets.items() if k != dataset}
        return Evidence(runs, kept, dict(self.skipped), self.where)


def default_results_dir() -> Path | None:
    """``$HEALTHFORGE_BENCHMARK_RESULTS``, else the source checkout's benchmarks/results."""
    env = os.environ.get(RESULTS_ENV)
    if env:
        return Path(env)
    here = Path(__file__).resolve().parents[3] / "benchmarks" / "results"
    return here if here.is_dir() else None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


def _registered() -> set[str]:
    from healthforge.generators import generator_names

    return set(generator_names())


def load_evidence(results_dir: str | Path | None = None) -> Evidence:
    """Every usable benchmark run in ``results_dir`` (default: :func:`default_results_dir`,
    else the snapshot shipped in the package)."""
    from healthforge.errors import HealthForgeError

    folder = Path(results_dir) if results_dir is not None else default_results_dir()
    if folder is None and SNAPSHOT.is_file():
        return _snapshot()
    if folder is None or not folder.is_dir():
        raise HealthForgeError(
            f"no benchmark results folder at {folder}" if folder else "no benchmark results",
            f"set {RESULTS_ENV} to a folder of benchmark results (benchmarks/results)",
        )
    return _load(str(folder.resolve()), _fingerprint(folder))


@lru_cache(maxsize=1)
def _snapshot() -> Evidence:
    evidence = Evidence.from_dict(json.loads(SNAPSHOT.read_text(encoding="utf-8")))
    evidence.where = SNAPSHOT_WHERE
    return evidence


def snapshot_text(evidence: Evidence) -> str:
    """The snapshot file's text for ``evidence``: one run per line, stable order."""
    data = evidence.to_dict()
    data["where"] = SNAPSHOT_WHERE
    runs = ",\n".join(json.dumps(r, sort_keys=True) for r in data.pop("runs"))
    head = json.dumps(data, indent=1, sort_keys=True)
    return head[:-2] + ',\n "runs": [\n' + runs + "\n ]\n}\n"


def _fingerprint(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and modification times: a changed file is read again."""
    return tuple(
        (p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.json"))
    )


@lru_cache(maxsize=8)
def _load(folder: str, fingerprint: tuple[tuple[str, int, int], ...]) -> Evidence:
    runs: list[EvidenceRun] = []
    skipped: dict[str, str] = {}
    declared: dict[str, dict[str, Any]] = {}
    registered = _registered()
    for name, _, _ in fingerprint:
        if name in SUPERSEDED:
            skipped[name] = "superseded: " + SUPERSEDED[name]
            continue
        text = (Path(folder) / name).read_text(encoding="utf-8")
        found, why = _parse(name, text, registered, declared)
        if why:
            skipped[name] = why
        runs.extend(found)
    datasets = {d: _dataset_meta(d, declared.get(d, {})) for d in sorted({r.dataset for r in runs})}
    return Evidence(runs, datasets, skipped, folder)


def _parse(
    name: str, text: str, registered: set[str], declared: dict[str, dict[str, Any]]
) -> tuple[list[EvidenceRun], str]:
    try:
        document = json.loads(text)
        records = None
    except json.JSONDecodeError:
        document = None
        try:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError:
            return [], "not JSON or JSON lines"
    if isinstance(document, dict) and isinstance(document.get("runs"), list):
        for key, info in (document.get("datasets") or {}).items():
            if isinstance(info, dict):
                declared.setdefault(str(key), info)
        settings = document.get("settings") or {}
        holdout = _float(settings.get("holdout_fraction") if isinstance(settings, dict) else None)
        trained = _training_rows(document.get("datasets") or {}, holdout)
        runs = [_harness_run(r, name, registered, trained) for r in document["runs"]]
        kept = [r for r in runs if r is not None]
        return kept, "" if kept else "no runs of healthforge generators"
    if records is not None and all(isinstance(r, dict) for r in records):
        runs = [_line_run(r, name, registered) for r in records]
        kept = [r for r in runs if r is not None]
        return kept, "" if kept else "no recognisable run records"
    return [], "not a benchmark results file (no runs)"


def _training_rows(datasets: Any, holdout: float | None) -> dict[str, int]:
    """Rows each dataset's generators were fitted on (the harness holds out a share)."""
    share = 1.0 - (holdout if holdout is not None and 0 < holdout < 1 else 0.2)
    out: dict[str, int] = {}
    if isinstance(datasets, dict):
        for key, info in datasets.items():
            rows = info.get("rows") if isinstance(info, dict) else None
            if isinstance(rows, int) and rows > 0:
                out[str(key)] = int(rows * share)
    return out


def _harness_run(
    record: Any, file: str, registered: set[str], trained: dict[str, int]
) -> EvidenceRun | None:
    if not isinstance(record, dict) or record.get("source", "healthforge") != "healthforge":
        return None
    generator, dataset = record.get("method"), record.get("dataset")
    status = record.get("status")
    if generator not in registered or not isinstance(dataset, str):
        return None
    if status not in ("ok", "refused"):
        return None  # a timeout or crash says nothing about quality
    metrics = record.get("metrics") or {}
    if not isinstance(metrics, dict):
        return None
    rows = record.get("rows") if isinstance(record.get("rows"), int) else None
    reward = Reward.from_metrics(
        metrics, _float(record.get("fit_seconds")), rows or trained.get(dataset)
    )
    if status == "ok" and reward.fidelity is None and reward.utility is None:
        return None
    clean = {k: _float(metrics.get(k)) for k in METRIC_NAMES if k in metrics}
    return EvidenceRun(
        dataset,
        str(generator),
        _float(record.get("epsilon")),
        str(status),
        reward,
        file,
        record.get("split_seed"),
        clean,
    )


def _line_run(record: dict[str, Any], file: str, registered: set[str]) -> EvidenceRun | None:
    generator, dataset = record.get("generator"), record.get("dataset")
    if generator not in registered or not isinstance(dataset, str):
        return None
    epsilon = _float(record.get("epsilon", record.get("epsilon_target")))
    metrics = {k: _float(record.get(k)) for k in METRIC_NAMES if k in record}
    reward = Reward.from_metrics(metrics, _float(record.get("fit_s", record.get("fit_seconds"))))
    if reward.fidelity is None and reward.utility is None:
        return None
    return EvidenceRun(dataset, str(generator), epsilon, "ok", reward, file, None, metrics)


def _dataset_meta(name: str, declared: dict[str, Any]) -> MetaFeatures:
    """Meta-features of a benchmark dataset: computed from the bundled table (a public
    dataset) as the benchmark used it; otherwise rows and columns as the file declares."""
    from healthforge.data.bundled import DATASETS

    dropped = [c for c in declared.get("dropped") or [] if isinstance(c, str)]
    target = declared.get("target") if isinstance(declared.get("target"), str) else None
    bundled = DATASETS.get(name)
    if bundled is not None:
        from healthforge.selection.meta import meta_features

        frame = bundled.load()
        frame = frame.drop(columns=[c for c in dropped if c in frame.columns])
        target = target or bundled.target
        return meta_features(frame, target=target if target in frame.columns else None, name=name)
    rows, columns = declared.get("rows"), declared.get("columns")
    return MetaFeatures(
        rows=int(rows) if isinstance(rows, int) else 0,
        columns=int(columns) if isinstance(columns, int) else 0,
        target=target,
        name=name,
    )
