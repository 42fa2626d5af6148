"""``run_benchmark``: every method on fixed, seeded splits, judged by one evaluation.

For each dataset and repeat ``r`` the real rows are split 80/20 (stratified on the
target) with seed ``seed + r``. Each generator - ours, and peers in their own venvs -
is fitted on the 80% in a child process that records fit time, sampling time and peak
memory; its rows are then evaluated against the 20% holdout with
:func:`healthforge.evaluation.evaluate`, the same call for everyone.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from healthforge.benchmark import jobs
from healthforge.benchmark.machine import load_average, machine_info
from healthforge.benchmark.peers import (
    PEERS,
    PeerStatus,
    install_peer,
    parse_peer,
    peer_status,
)
from healthforge.benchmark.records import METRICS, RunRecord, Summary, add_ratios, summarise
from healthforge.errors import HealthForgeError
from healthforge.progress import ProgressCallback, report

SAMPLE_ROWS = 10_000  # sampling is timed on this many rows; evaluation uses len(train)
JOB_TIMEOUT = 3600.0  # seconds for one fit+sample before it is recorded as a timeout
PEER_EPOCHS = 300  # as in shared/ANCHORS.md, so our numbers meet the published ones


@dataclass
class Dataset:
    """A table to benchmark on: real rows, target, and the columns dropped first."""

    name: str
    data: pd.DataFrame
    target: str | None
    dropped: tuple[str, ...] = ()


@dataclass
class BenchmarkResult:
    """Every run, the mean ± sd summaries, and how, where and when it was measured."""

    records: list[RunRecord]
    summaries: list[Summary]
    settings: dict[str, Any]
    machine: dict[str, Any]
    peers: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "machine": self.machine,
            "datasets": self.datasets,
            "peers": self.peers,
            "summaries": [s.to_dict() for s in self.summaries],
            "runs": [r.to_dict() for r in self.records],
        }

    def write(
        self, out_dir: str | Path, command: str | None = None, note: str | None = None
    ) -> dict[str, Path]:
        """Write ``benchmark.md``, ``benchmark.json`` and ``benchmark.html`` to ``out_dir``;
        ``note`` is a paragraph for readers (e.g. how the runs were scheduled)."""
        from healthforge.benchmark.output import write_all

        return write_all(self, Path(out_dir), command, note)


def load_dataset(name: str, rows: int | None = None, seed: int = 0) -> Dataset:
    """A bundled dataset with its target, leaky columns dropped (they reveal the target)."""
    from healthforge.data import get_dataset

    bundled = get_dataset(name)
    data = bundled.load().drop(columns=list(bundled.leaky_for_target))
    if rows is not None and rows < len(data):
        data = data.sample(n=rows, random_state=seed).reset_index(drop=True)
    return Dataset(name, data, bundled.target, tuple(bundled.leaky_for_target))


def run_benchmark(
    datasets: Sequence[str | Dataset],
    generators: Sequence[str],
    peers: Sequence[str] = (),
    repeats: int = 3,
    seed: int = 0,
    rows: int | None = None,
    progress: ProgressCallback | None = None,
    *,
    peer_repeats: int | None = None,
    peer_datasets: Sequence[str] | None = None,
    install_peers: bool = False,
    peers_dir: str | Path | None = None,
    peer_epochs: int = PEER_EPOCHS,
    reference: str = "cart",
    sample_rows: int = SAMPLE_ROWS,
    holdout_fraction: float = 0.2,
    job_timeout: float = JOB_TIMEOUT,
    cache_dir: str | Path | None = None,
    generator_params: dict[str, dict[str, Any]] | None = None,
    evaluate_options: dict[str, Any] | None = None,
    cached_only: bool = False,
) -> BenchmarkResult:
    """Benchmark ``generators`` (and ``peers``) on ``datasets`` over ``repeats`` splits.

    ``datasets`` are bundled names or :class:`Dataset` objects; ``rows`` caps the real
    rows used per dataset (a seeded subsample, for quick runs). ``peers`` are library
    names (``"sdv"``) or one method (``"sdv:ctgan"``); a peer that is not installed is
    recorded as unavailable unless ``install_peers`` is set. ``peer_repeats`` and
    ``peer_datasets`` let slow peers run on fewer splits. Time ratios are against
    ``reference`` (or the first generator when it is not run) on the same split.
    With ``cache_dir``, finished runs are stored there and reused by a later call with
    the same settings, so a long benchmark can be resumed or extended; ``cached_only``
    then builds the result from the cache alone, listing missing runs as not run.
    """
    from healthforge.evaluation import split_train_holdout
    from healthforge.generators import generator_names
    from healthforge.generators.registry import generator_class

    if repeats < 1:
        raise HealthForgeError(f"repeats must be at least 1, not {repeats}")
    known = generator_names()
    for name in generators:
        # unknown names fail before any work; one that fails to import is recorded per run
        if name not in known:
            generator_class(name)
    peer_methods = [parse_peer(item) for item in peers]
    loaded = [d if isinstance(d, Dataset) else load_dataset(d, rows, seed) for d in datasets]
    statuses = _peer_statuses({name for name, _ in peer_methods}, install_peers, peers_dir)
    reference = reference if reference in generators else (generators[0] if generators else "")
    cache = Path(cache_dir) if cache_dir is not None else None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    p_repeats = repeats if peer_repeats is None else min(peer_repeats, repeats)

    plan: list[tuple[Dataset, int, str, str]] = []  # (dataset, repeat, source, method)
    for data in loaded:
        for r in range(repeats):
            plan += [(data, r, "healthforge", g) for g in generators]
            if r < p_repeats and (peer_datasets is None or data.name in peer_datasets):
                plan += [(data, r, lib, m) for lib, methods in peer_methods for m in methods]

    settings = {
        "datasets": [d.name for d in loaded],
        "generators": list(generators),
        "peers": list(peers),
        "repeats": repeats,
        "peer_repeats": p_repeats,
        "peer_datasets": list(peer_datasets) if peer_datasets is not None else None,
        "seed": seed,
        "rows": rows,
        "sample_rows": sample_rows,
        "holdout_fraction": holdout_fraction,
        "peer_epochs": peer_epochs,
        "reference": reference,
        "generator_params": generator_params or {},
        "evaluate_options": evaluate_options or {},
        "cached_only": cached_only,
    }
    machine = machine_info()
    records: list[RunRecord] = []
    fresh: list[tuple[str, RunRecord]] = []
    work = Path(tempfile.mkdtemp(prefix="healthforge-benchmark-"))
    splits: dict[tuple[str, int], tuple[pd.DataFrame, pd.DataFrame, Any]] = {}
    try:
        for step, (data, r, source, method) in enumerate(plan):
            report(progress, "benchmark runs", step, len(plan))
            split_seed = seed + r
            name = method if source == "healthforge" else f"{source}:{method}"
            key = _run_key(data.name, name, r, split_seed, settings)
            cached = _load_cached(cache, key)
            if cached is not None:
                records.append(cached)
                continue
            if cached_only:
                reason = "not measured (the result was built from cached runs only)"
                records.append(RunRecord(data.name, name, source, r, split_seed, "not run", reason))
                continue
            if (data.name, r) not in splits:
                from healthforge.data.infer import infer_schema

                train, holdout = split_train_holdout(
                    data.data, data.target, holdout_fraction, split_seed
                )
                # one schema per split, shared by every method, so all are judged alike
                splits[(data.name, r)] = (train, holdout, infer_schema(train, data.target))
            train, holdout, schema = splits[(data.name, r)]
            folder = work / f"{data.name}_r{r}"
            folder.mkdir(exist_ok=True)
            base = RunRecord(data.name, name, source, r, split_seed, "ok")
            if source == "healthforge":
                outcome = jobs.run_ours(
                    method,
                    train,
                    data.target,
                    sample_rows,
                    split_seed,
                    folder,
                    job_timeout,
                    (generator_params or {}).get(method),
                )
            else:
                status = statuses[source]
                if not status.available:
                    base.status, base.reason = "unavailable", status.reason
                    records.append(base)
                    continue
                assert status.python is not None
                outcome = jobs.run_peer(
                    source,
                    method,
                    status.python,
                    train,
                    data.target,
                    sample_rows,
                    split_seed,
                    peer_epochs,
                    folder,
                    job_timeout,
                )
                base.settings = {"epochs": peer_epochs, "versions": status.versions}
            record = _finish(base, outcome, train, holdout, schema, data, evaluate_options)
            records.append(record)
            fresh.append((key, record))
            _store_cached(cache, key, record)
        report(progress, "benchmark runs", len(plan), len(plan))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    add_ratios(records, reference)
    for key, record in fresh:  # store again with the ratios of this session
        _store_cached(cache, key, record)
    machine["load_average_end"] = load_average()
    return BenchmarkResult(
        records=records,
        summaries=summarise(records),
        settings=settings,
        machine=machine,
        peers={
            name: {
                "available": s.available,
                "reason": s.reason,
                "versions": s.versions,
                "install_seconds": s.install_seconds,
                "note": PEERS[name].licence_note if name in PEERS else "",
            }
            for name, s in statuses.items()
        },
        datasets={
            d.name: {
                "rows": len(d.data),
                "columns": d.data.shape[1],
                "target": d.target,
                "dropped": list(d.dropped),
            }
            for d in loaded
        },
    )


def _peer_statuses(
    names: Iterable[str], install: bool, peers_dir: str | Path | None
) -> dict[str, PeerStatus]:
    statuses = {}
    for name in sorted(names):
        status = peer_status(name, peers_dir)
        if not status.available and install:
            status = install_peer(name, peers_dir)
        statuses[name] = status
    return statuses


def _finish(
    record: RunRecord,
    outcome: jobs.JobOutcome,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    schema: Any,
    data: Dataset,
    evaluate_options: dict[str, Any] | None,
) -> RunRecord:
    """Fill the record from the child's timings and our evaluation of its rows."""
    from healthforge.evaluation import evaluate

    record.status, record.reason = outcome.status, outcome.reason
    if outcome.status != "ok" or outcome.synthetic is None or outcome.timing is None:
        return record
    timing = outcome.timing
    sampled = max(int(timing.get("rows_sampled") or 0), 1)
    record.fit_seconds = float(timing["fit_seconds"])
    record.sample_seconds_10k = float(timing["sample_seconds"]) * 10_000 / sampled
    record.rows_sampled = sampled
    record.peak_rss_mb = timing.get("peak_rss_mb")
    record.baseline_rss_mb = timing.get("baseline_rss_mb")
    if record.peak_rss_mb is not None and record.baseline_rss_mb is not None:
        record.added_rss_mb = max(record.peak_rss_mb - record.baseline_rss_mb, 0.0)
    if "versions" in timing:
        record.settings["versions"] = timing["versions"]
    # rows are i.i.d. draws, so the first len(train) of them are a sample of that size
    synthetic = outcome.synthetic.head(len(train)).reset_index(drop=True)
    started = time.perf_counter()
    try:
        result = evaluate(
            train,
            synthetic,
            holdout=holdout,
            schema=schema,
            target=data.target,
            seed=record.split_seed,
            **(evaluate_options or {}),
        )
    except HealthForgeError as exc:
        record.status, record.reason = "failed", f"evaluation: {exc.message}"
        return record
    record.evaluate_seconds = time.perf_counter() - started
    summary = result.summary
    record.metrics = {
        name: (summary.get(section) or {}).get(key) for name, (section, key) in METRICS.items()
    }
    return record


def _run_key(dataset: str, method: str, repeat: int, split_seed: int, settings: dict) -> str:
    relevant = {
        k: settings[k] for k in ("rows", "sample_rows", "holdout_fraction", "evaluate_options")
    }
    if ":" in method:
        relevant["peer_epochs"] = settings["peer_epochs"]
    else:
        relevant["params"] = settings["generator_params"].get(method)
    return json.dumps([dataset, method, repeat, split_seed, relevant], sort_keys=True)


def _cache_path(cache: Path, key: str) -> Path:
    import hashlib

    return cache / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.json"


def _load_cached(cache: Path | None, key: str) -> RunRecord | None:
    if cache is None:
        return None
    path = _cache_path(cache, key)
    if not path.exists():
        return None
    stored = json.loads(path.read_text())
    if stored.get("key") != key:
        return None
    return RunRecord.from_dict(stored["record"])


def _store_cached(cache: Path | None, key: str, record: RunRecord) -> None:
    # a timeout may pass on a quieter machine and a peer may be installed later: retry those
    if cache is None or record.status in {"timeout", "unavailable"}:
        return
    payload = {"key": key, "record": record.to_dict()}
    _cache_path(cache, key).write_text(json.dumps(payload, indent=2) + "\n")
