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

from healthforge.benchmark import jobs, store
from healthforge.benchmark.machine import load_average, machine_info
from healthforge.benchmark.peers import (
    PEERS,
    PeerStatus,
    install_peer,
    parse_peer,
    peer_status,
)
from healthforge.benchmark.public_domain import peer_domain, public_schema
from healthforge.benchmark.records import (
    METRICS,
    RunRecord,
    Stat,
    Summary,
    add_ratios,
    summarise,
)
from healthforge.errors import HealthForgeError
from healthforge.privacy.accounting import default_delta
from healthforge.progress import ProgressCallback, report

SAMPLE_ROWS = 10_000  # sampling is timed on this many rows; evaluation uses len(train)
EVAL_DRAWS = 1  # disjoint blocks of len(train) sampled rows evaluated and averaged
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
        self,
        out_dir: str | Path,
        command: str | None = None,
        note: str | None = None,
        stem: str = "benchmark",
    ) -> dict[str, Path]:
        """Write ``<stem>.md``, ``<stem>.json`` and ``<stem>.html`` to ``out_dir``;
        ``note`` is a paragraph for readers (e.g. how the runs were scheduled)."""
        from healthforge.benchmark.output import write_all

        return write_all(self, Path(out_dir), command, note, stem)


def load_dataset(name: str, rows: int | None = None, seed: int = 0) -> Dataset:
    """A bundled dataset with its target, leaky columns dropped (they reveal the target)."""
    from healthforge.data import get_dataset

    bundled = get_dataset(name)
    data = bundled.load().drop(columns=list(bundled.leaky_for_target))
    if rows is not None and rows < len(data):
        data = data.sample(n=rows, random_state=seed).reset_index(drop=True)
    return Dataset(name, data, bundled.target, tuple(bundled.leaky_for_target))


@dataclass(frozen=True)
class Job:
    """One planned run: a method on one split, at one privacy budget for DP methods."""

    data: Dataset
    repeat: int
    source: str  # "healthforge" or a peer library
    method: str
    epsilon: float | None = None

    @property
    def name(self) -> str:
        return self.method if self.source == "healthforge" else f"{self.source}:{self.method}"

    @property
    def tag(self) -> str:
        return "" if self.epsilon is None else f"_eps{self.epsilon:g}"


def run_benchmark(
    datasets: Sequence[str | Dataset],
    generators: Sequence[str],
    peers: Sequence[str] = (),
    repeats: int = 3,
    seed: int = 0,
    rows: int | None = None,
    progress: ProgressCallback | None = None,
    *,
    epsilons: Sequence[float] | None = None,
    peer_repeats: int | None = None,
    peer_datasets: Sequence[str] | None = None,
    install_peers: bool = False,
    peers_dir: str | Path | None = None,
    peer_epochs: int = PEER_EPOCHS,
    reference: str = "cart",
    sample_rows: int = SAMPLE_ROWS,
    holdout_fraction: float = 0.2,
    job_timeout: float = JOB_TIMEOUT,
    results_json: str | Path | None = None,
    force: bool = False,
    generator_params: dict[str, dict[str, Any]] | None = None,
    evaluate_options: dict[str, Any] | None = None,
    cached_only: bool = False,
    threads: int | None = None,
    eval_draws: int = EVAL_DRAWS,
) -> BenchmarkResult:
    """Benchmark ``generators`` (and ``peers``) on ``datasets`` over ``repeats`` splits.

    ``datasets`` are bundled names or :class:`Dataset` objects; ``rows`` caps the real
    rows used per dataset (a seeded subsample, for quick runs). ``peers`` are library
    names (``"sdv"``) or one method (``"sdv:ctgan"``); a peer that is not installed is
    recorded as unavailable unless ``install_peers`` is set. ``peer_repeats`` and
    ``peer_datasets`` let slow peers run on fewer splits. Time ratios are against
    ``reference`` (or the first generator when it is not run) on the same split.

    Differentially private methods (ours and DP peers) get the dataset's public schema
    (:mod:`healthforge.benchmark.public_domain`) and run once per value in ``epsilons``
    (their default budget when ``None``); their budget record goes to ``evaluate()``.

    ``results_json`` (a previous run's ``benchmark.json``) makes the table incremental:
    each finished job is written to it at once, and a job already there with the same
    key (dataset, method, ε, repeat, settings, code version) is reused, not measured
    again, unless ``force``. Runs in it that this call does not plan are kept (merged).
    ``cached_only`` builds the result from it alone, listing missing runs as not run.
    ``threads`` limits every child (ours and peers alike) to that many compute threads:
    on a shared machine one thread each keeps torch from stalling on busy cores.
    ``eval_draws`` evaluates up to that many disjoint blocks of len(train) sampled rows
    and averages their metrics: one block's detection AUC and TSTR/TRTR move with the
    sampling draw alone (on NHEFS by ±0.02 and ±0.04), as much as the gaps between
    methods. A method that wrote fewer rows (the GReaT peer writes len(train)) gets fewer.
    """
    from healthforge.evaluation import split_train_holdout
    from healthforge.generators import generator_names
    from healthforge.generators.registry import generator_class

    if repeats < 1:
        raise HealthForgeError(f"repeats must be at least 1, not {repeats}")
    if eval_draws < 1:
        raise HealthForgeError(f"eval_draws must be at least 1, not {eval_draws}")
    eps_list = _check_epsilons(epsilons)
    known = generator_names()
    for name in generators:
        # unknown names fail before any work; one that fails to import is recorded per run
        if name not in known:
            generator_class(name)
    peer_methods = [parse_peer(item) for item in peers]
    loaded = [d if isinstance(d, Dataset) else load_dataset(d, rows, seed) for d in datasets]
    statuses = _peer_statuses({name for name, _ in peer_methods}, install_peers, peers_dir)
    # a reference not run now may still be in the cache: chosen once the runs are merged
    wanted_reference = reference
    reference = reference if reference in generators else (generators[0] if generators else "")
    p_repeats = repeats if peer_repeats is None else min(peer_repeats, repeats)
    dp_ours = {g for g in generators if _is_dp(g)}
    # DP is an option of these (epsilon defaults to None): they also run without it
    dp_optional = {g for g in dp_ours if _dp_is_optional(g)}

    plan: list[Job] = []
    for data in loaded:
        for r in range(repeats):
            for g in generators:
                plan += [
                    Job(data, r, "healthforge", g, e)
                    for e in dict.fromkeys(
                        ([None] if g in dp_optional else [])
                        + (eps_list if g in dp_ours else [None])
                    )
                ]
            if r < p_repeats and (peer_datasets is None or data.name in peer_datasets):
                for lib, methods in peer_methods:
                    dp_peer = PEERS[lib].differential_privacy
                    budgets = (eps_list if eps_list != [None] else [1.0]) if dp_peer else [None]
                    plan += [Job(data, r, lib, m, e) for m in methods for e in budgets]

    settings = {
        "datasets": [d.name for d in loaded],
        "generators": list(generators),
        "peers": list(peers),
        "epsilons": [e for e in eps_list if e is not None],
        "repeats": repeats,
        "peer_repeats": p_repeats,
        "peer_datasets": list(peer_datasets) if peer_datasets is not None else None,
        "seed": seed,
        "rows": rows,
        "sample_rows": sample_rows,
        "holdout_fraction": holdout_fraction,
        "peer_epochs": peer_epochs,
        "job_timeout": job_timeout,
        "reference": reference,
        "generator_params": generator_params or {},
        "evaluate_options": evaluate_options or {},
        "cached_only": cached_only,
        "threads": threads,
        "eval_draws": eval_draws,
    }
    machine = machine_info()
    results_path = None if results_json is None else Path(results_json)
    previous = (
        {} if force or results_path is None else store.previous_runs(results_path, wanted_reference)
    )
    recorded_peers = {} if force else store.previous_peers(results_path)
    cached_sources = {r.source for r in previous.values()} - {"healthforge"}
    records: list[RunRecord] = []
    work = Path(tempfile.mkdtemp(prefix="healthforge-benchmark-"))
    splits: dict[tuple[str, int], tuple[pd.DataFrame, pd.DataFrame, Any]] = {}
    public: dict[str, Any] = {}
    try:
        for step, job in enumerate(plan):
            report(progress, "benchmark runs", step, len(plan))
            data, r = job.data, job.repeat
            split_seed = seed + r
            version = store.code_version(job.source, job.method, statuses)
            key = _run_key(job, split_seed, settings, version)
            cached = previous.pop(key, None)
            # the same job measured with other code: stale, replaced by this measurement
            # (or, when only assembling from the results file, shown with its version)
            stale = [k for k in previous if store.slot(k) == store.slot(key)]
            for k in stale:
                older = previous.pop(k)
                if cached is None and cached_only:
                    cached = older
            # assembling from the file: a timeout stays a timeout rather than "not run"
            if cached is not None and (cached_only or cached.status not in store.RETRY):
                records.append(cached)
                continue
            base = RunRecord(data.name, job.name, job.source, r, split_seed, "ok")
            base.epsilon, base.key, base.code_version = job.epsilon, key, version
            if cached_only:
                base.status = "not run"
                base.reason = "not measured (the result was built from cached runs only)"
                records.append(base)
                continue
            if (data.name, r) not in splits:
                from healthforge.data.infer import infer_schema

                train, holdout = split_train_holdout(
                    data.data, data.target, holdout_fraction, split_seed
                )
                # one schema per split, shared by every method, so all are judged alike
                splits[(data.name, r)] = (train, holdout, infer_schema(train, data.target))
            train, holdout, schema = splits[(data.name, r)]
            dp = job.epsilon is not None or (
                job.method in dp_ours and job.method not in dp_optional
            )
            if dp and data.name not in public:
                public[data.name] = public_schema(data.data, data.target)
            folder = work / f"{data.name}_r{r}"
            folder.mkdir(exist_ok=True)
            if job.source == "healthforge":
                params = dict((generator_params or {}).get(job.method) or {})
                if dp:
                    # seeded DP noise, so a benchmark can be repeated; real fits use OS noise
                    params.setdefault("noise_seed", split_seed)
                    if job.epsilon is not None:
                        params["epsilon"] = job.epsilon
                outcome = jobs.run_ours(
                    job.method, train, data.target, sample_rows, split_seed, folder,
                    job_timeout, params, public[data.name] if dp else None, job.tag, threads,
                )  # fmt: skip
            else:
                status = statuses[job.source]
                if not status.available:
                    base.status, base.reason = "unavailable", status.reason
                    records.append(base)
                    continue
                assert status.python is not None
                extra = None
                if job.epsilon is not None:
                    extra = {
                        "epsilon": job.epsilon,
                        "delta": default_delta(len(train)),
                        "domain": peer_domain(public[data.name]),
                    }
                outcome = jobs.run_peer(
                    job.source, job.method, status.python, train, data.target, sample_rows,
                    split_seed, peer_epochs, folder, job_timeout, extra, job.tag, threads,
                )  # fmt: skip
                base.settings = {"epochs": peer_epochs, "versions": status.versions}
                if extra is not None:
                    base.settings.update(epsilon=extra["epsilon"], delta=extra["delta"])
            record = _finish(
                base, outcome, train, holdout, schema, data, evaluate_options, eval_draws
            )
            records.append(record)
            store.checkpoint(results_path, records, previous)
        report(progress, "benchmark runs", len(plan), len(plan))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    merged = [r for r in previous.values() if r.status not in store.RETRY]
    records += merged  # earlier runs this call did not plan: the table keeps them
    if any(r.method == wanted_reference and r.status == "ok" for r in records):
        reference = settings["reference"] = wanted_reference  # cached cart runs still count
    add_ratios(records, reference)
    for dataset in dict.fromkeys(r.dataset for r in merged):
        if dataset not in settings["datasets"]:
            settings["datasets"].append(dataset)
    machine["load_average_end"] = load_average()
    return BenchmarkResult(
        records=records,
        summaries=summarise(records),
        settings=settings,
        machine=machine,
        peers=_peer_summaries(statuses, recorded_peers, cached_only, cached_sources),
        datasets={
            **store.previous_datasets(results_path, merged),
            **{
                d.name: {
                    "rows": len(d.data),
                    "columns": d.data.shape[1],
                    "target": d.target,
                    "dropped": list(d.dropped),
                }
                for d in loaded
            },
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


def _peer_summaries(
    statuses: dict[str, PeerStatus],
    recorded: dict[str, dict[str, Any]],
    cached_only: bool,
    kept: set[str],
) -> dict[str, dict[str, Any]]:
    """Each peer's install state. The results file's ``recorded`` state stays for a peer
    with runs in that file (``kept``) that this call does not ask for (a run of ours
    alone), and for one assembled ``cached_only`` on a machine without it."""
    summaries = {}
    for name, s in statuses.items():
        summary = {
            "available": s.available,
            "reason": s.reason,
            "versions": s.versions,
            "install_seconds": s.install_seconds,
            "note": PEERS[name].licence_note if name in PEERS else "",
        }
        if cached_only and not s.available and (recorded.get(name) or {}).get("available"):
            summary = {**recorded[name], "assembled_without": True}
        summaries[name] = summary
    for name in sorted(kept - set(summaries)):
        if name in recorded:
            summaries[name] = recorded[name]
    return summaries


def _finish(
    record: RunRecord,
    outcome: jobs.JobOutcome,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    schema: Any,
    data: Dataset,
    evaluate_options: dict[str, Any] | None,
    eval_draws: int = 1,
) -> RunRecord:
    """Fill the record from the child's timings and our evaluation of its rows: the
    metrics' mean over up to ``eval_draws`` disjoint blocks of len(train) rows."""
    from healthforge.evaluation import evaluate

    record.status, record.reason = outcome.status, outcome.reason
    if outcome.status != "ok" or outcome.synthetic is None or outcome.timing is None:
        return record
    timing = outcome.timing
    budget = timing.get("dp_budget")
    if budget is None and record.epsilon is not None:  # a DP peer: what it was given
        budget = {
            "mechanism": record.method,
            "epsilon": record.epsilon,
            "delta": record.settings.get("delta"),
            "accountant": "the peer's own",
        }
    if budget is not None:
        record.settings["dp_budget"] = budget
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
    # rows are i.i.d. draws, so each block of len(train) of them is a sample of that size
    n = len(train)
    blocks = max(1, min(eval_draws, len(outcome.synthetic) // max(n, 1)))
    draws: list[dict[str, float | None]] = []
    started = time.perf_counter()
    for b in range(blocks):
        synthetic = outcome.synthetic.iloc[b * n : (b + 1) * n].reset_index(drop=True)
        try:
            result = evaluate(
                train,
                synthetic,
                holdout=holdout,
                schema=schema,
                target=data.target,
                seed=record.split_seed,
                dp_budget=budget,
                **(evaluate_options or {}),
            )
        except HealthForgeError as exc:
            record.status, record.reason = "failed", f"evaluation: {exc.message}"
            return record
        summary = result.summary
        draws.append(
            {
                name: (summary.get(section) or {}).get(key)
                for name, (section, key) in METRICS.items()
            }
        )
    record.evaluate_seconds = time.perf_counter() - started
    record.eval_draws = blocks
    record.metrics = {name: Stat.of([d[name] for d in draws]).mean for name in METRICS}
    if blocks > 1:  # the sampling draw's own spread, next to the splits' sd in the table
        record.draw_sd = {name: Stat.of([d[name] for d in draws]).sd for name in METRICS}
    return record


def _check_epsilons(epsilons: Sequence[float] | None) -> list[float | None]:
    if epsilons is None:
        return [None]
    from healthforge.privacy.accounting import check_epsilon

    values = [check_epsilon(e) for e in epsilons]
    if not values:
        raise HealthForgeError("no privacy budgets given", "for example --epsilons 0.5,1,3,10")
    return list(dict.fromkeys(values))


def _dp_is_optional(generator: str) -> bool:
    """True for a generator that can be private but whose default instance is not
    (``lm``: private only when given ``epsilon``)."""
    from healthforge.generators.registry import generator_class

    try:
        return not generator_class(generator)().is_private
    except Exception:  # a generator that fails to import is recorded per run instead
        return False


def _is_dp(generator: str) -> bool:
    from healthforge.generators.registry import generator_class

    try:
        return bool(generator_class(generator).differential_privacy)
    except Exception:  # fails to import here: the child records why, per run
        return False


def _run_key(job: Job, split_seed: int, settings: dict, version: str) -> str:
    relevant = {
        k: settings[k] for k in ("rows", "sample_rows", "holdout_fraction", "evaluate_options")
    }
    if settings.get("eval_draws", 1) != 1:  # keys of one-block runs stay as they were
        relevant["eval_draws"] = settings["eval_draws"]
    if job.source != "healthforge":
        relevant["peer_epochs"] = settings["peer_epochs"]
    else:
        relevant["params"] = settings["generator_params"].get(job.method)
    return json.dumps(
        [job.data.name, job.name, job.epsilon, job.repeat, split_seed, relevant, version],
        sort_keys=True,
    )
