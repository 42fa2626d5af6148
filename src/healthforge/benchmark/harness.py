"""``run_benchmark``: every method on fixed, seeded splits, judged by one evaluation.

For each dataset and repeat ``r`` the real rows are split 80/20 (stratified on the
target) with seed ``seed + r``. Each generator - ours, and peers in their own venvs -
is fitted on the 80% in a child process that records fit time, sampling time and peak
memory; its rows are then evaluated against the 20% holdout by the pipeline's evaluate
step, the same for everyone.

The workflow is :mod:`healthforge.pipeline`'s: each cell is a run specification
(:mod:`.cells`) - a dataset's judging pipeline branched per repeat splits and evaluates,
a child runs a method of ours through the same spec. What stays here: plan the grid of
jobs (:mod:`.plan`), reuse runs cached in a results file (:mod:`.store`), run the rest
in children (:mod:`.jobs`), average their evaluations into records (:mod:`.scoring`),
then merge with the cached runs into a :class:`BenchmarkResult`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from healthforge.benchmark import store
from healthforge.benchmark.cell_task import CellTask, run_cell
from healthforge.benchmark.cells import cell_spec, evaluation_spec, judging_spec
from healthforge.benchmark.machine import load_average, machine_info
from healthforge.benchmark.peers import (
    PEERS,
    PeerStatus,
    install_peer,
    parse_peer,
    peer_status,
)
from healthforge.benchmark.plan import (
    Dataset,
    Job,
    check_epsilons,
    load_dataset,
    plan_jobs,
    run_key,
)
from healthforge.benchmark.public_domain import peer_domain, public_schema
from healthforge.benchmark.records import RunRecord, add_ratios, summarise
from healthforge.benchmark.result import BenchmarkResult
from healthforge.data.schema import Schema
from healthforge.distributed.executor import Executor, LocalExecutor, Outcome, Resources
from healthforge.errors import HealthForgeError
from healthforge.pipeline import Pipeline
from healthforge.privacy.accounting import default_delta
from healthforge.progress import ProgressCallback, report

__all__ = ["BenchmarkResult", "Dataset", "load_dataset", "run_benchmark"]

SAMPLE_ROWS = 10_000  # sampling is timed on this many rows; evaluation uses len(train)
EVAL_DRAWS = 1  # disjoint blocks of len(train) sampled rows evaluated and averaged
JOB_TIMEOUT = 3600.0  # seconds for one fit+sample before it is recorded as a timeout
EVALUATION_TIMEOUT = 1800.0  # more for a cell's evaluation, after which a task is a timeout
PEER_EPOCHS = 300  # as in shared/ANCHORS.md, so our numbers meet the published ones


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
    executor: Executor | None = None,
    cell_memory: int | None = None,
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

    ``executor`` runs the cells (:mod:`healthforge.distributed`; default: here, one after
    another); on Ray each cell is a task asking for ``threads`` (or 1) CPUs and
    ``cell_memory`` bytes, and a cell whose task dies or outlives ``job_timeout`` (plus
    its evaluation) is recorded as failed or timed out while the others finish.
    """
    if repeats < 1:
        raise HealthForgeError(f"repeats must be at least 1, not {repeats}")
    if eval_draws < 1:
        raise HealthForgeError(f"eval_draws must be at least 1, not {eval_draws}")
    eps_list = check_epsilons(epsilons)
    evaluation_spec(evaluate_options)  # an option a run cannot carry fails before any work
    _check_generators(generators)
    peer_methods = [parse_peer(item) for item in peers]
    loaded = [d if isinstance(d, Dataset) else load_dataset(d, rows, seed) for d in datasets]
    statuses = _peer_statuses({name for name, _ in peer_methods}, install_peers, peers_dir)
    p_repeats = repeats if peer_repeats is None else min(peer_repeats, repeats)
    plan = plan_jobs(loaded, generators, peer_methods, eps_list, repeats, p_repeats, peer_datasets)
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
        # a reference not run now may still be in the cache: chosen once runs are merged
        "reference": reference if reference in generators else next(iter(generators), ""),
        "generator_params": generator_params or {},
        "evaluate_options": evaluate_options or {},
        "cached_only": cached_only,
        "threads": threads,
        "eval_draws": eval_draws,
    }
    machine = machine_info()
    cache = store.RunCache(None if results_json is None else Path(results_json), force, reference)
    session = _Session(settings, statuses, cache, executor or LocalExecutor(), cell_memory)
    records = session.run(plan, progress)
    return _assemble(records, settings, machine, statuses, cache, loaded, reference)


def _check_generators(generators: Sequence[str]) -> None:
    """Unknown names fail before any work; one that fails to import is recorded per run."""
    from healthforge.generators import generator_class, generator_names

    known = generator_names()
    for name in generators:
        if name not in known:
            generator_class(name)


class _Session:
    """Runs the planned jobs through the pipeline: per dataset one judging pipeline
    (:mod:`.cells`), branched per repeat, that splits once and judges every method's rows
    on that split; children and their files in a scratch folder removed at the end."""

    def __init__(
        self,
        settings: dict[str, Any],
        statuses: dict[str, PeerStatus],
        cache: store.RunCache,
        executor: Executor,
        cell_memory: int | None = None,
    ) -> None:
        self.settings, self.statuses, self.cache = settings, statuses, cache
        self.executor, self.cell_memory = executor, cell_memory
        self.judges: dict[str, Pipeline] = {}  # per dataset, through 'prepare'
        self.splits: dict[tuple[str, int], Pipeline] = {}  # per (dataset, repeat)
        self.public: dict[str, tuple[Path, Schema]] = {}  # per dataset, and its file

    def run(self, plan: list[Job], progress: ProgressCallback | None) -> list[RunRecord]:
        """Cached and skipped jobs first, then the cells to measure through the executor
        (:func:`.cell_task.run_cell`); records in the plan's order."""
        records: dict[int, RunRecord] = {}
        work = Path(tempfile.mkdtemp(prefix="healthforge-benchmark-"))
        try:
            cells: list[tuple[int, CellTask]] = []
            for step, job in enumerate(plan):
                record, cell = self._job(job, work)
                if cell is None:
                    records[step] = record
                else:
                    cells.append((step, cell))

            def finished(position: int, outcome: Outcome) -> None:
                step, cell = cells[position]
                records[step] = _cell_record(cell, outcome)
                # each finished job is saved at once: a rerun resumes here
                done = [records[i] for i in sorted(records)]
                store.checkpoint(self.cache.path, done, self.cache.previous)

            report(progress, "benchmark runs", len(records), len(plan))
            self.executor.map(
                run_cell,
                self.splits,
                [(str(step), cell) for step, cell in cells],
                resources=Resources(cpus=float(self.settings["threads"] or 1),
                                    memory=self.cell_memory),
                timeout=self.settings["job_timeout"] + EVALUATION_TIMEOUT,
                progress=lambda _s, done, _t: report(
                    progress, "benchmark runs", len(plan) - len(cells) + done, len(plan)
                ),
                stage="benchmark runs",
                on_result=finished,
            )  # fmt: skip
            report(progress, "benchmark runs", len(plan), len(plan))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return [records[i] for i in range(len(plan))]

    def _job(self, job: Job, work: Path) -> tuple[RunRecord, CellTask | None]:
        """The job's record when cached or skipped, else the cell to measure."""
        settings = self.settings
        split_seed = settings["seed"] + job.repeat
        version = store.code_version(job.source, job.method, self.statuses)
        key = run_key(job, split_seed, settings, version)
        cached = self.cache.take(key, settings["cached_only"])
        if cached is not None:
            return cached, None
        record = RunRecord(job.data.name, job.name, job.source, job.repeat, split_seed, "ok")
        record.epsilon, record.key, record.code_version = job.epsilon, key, version
        if settings["cached_only"]:
            record.status = "not run"
            record.reason = "not measured (the result was built from cached runs only)"
            return record, None
        status = self.statuses.get(job.source)
        if status is not None and not status.available:
            record.status, record.reason = "unavailable", status.reason
            return record, None
        split = self._split(job.data, job.repeat, split_seed, work)
        if job.private and job.data.name not in self.public:
            path = work / f"{job.data.name}_public_schema.json"
            schema = public_schema(job.data.data, job.data.target)
            schema.save(path)
            self.public[job.data.name] = (path, schema)
        folder = work / f"{job.data.name}_r{job.repeat}"
        folder.mkdir(exist_ok=True)
        cell = CellTask(
            record, (job.data.name, job.repeat), folder, settings["job_timeout"],
            settings["threads"], settings["eval_draws"],
        )  # fmt: skip
        if job.source == "healthforge":
            synthetic = folder / f"synthetic_{job.method}{job.tag}.parquet"
            public = self.public[job.data.name][0] if job.private else None
            cell.spec = cell_spec(job, split.spec, settings, public, synthetic)
            cell.source = Path(split.spec.data.source)
        else:
            cell.peer = self._peer_args(job, record, split, folder)
        return record, cell

    def _split(self, data: Dataset, repeat: int, split_seed: int, work: Path) -> Pipeline:
        """The judging pipeline of ``data`` branched for ``repeat``, through 'split'."""
        if data.name not in self.judges:
            source = work / f"{data.name}.parquet"  # what each child reads and splits
            data.data.to_parquet(source, index=False)  # parquet keeps our dtypes exactly
            spec = judging_spec(data.name, source, data.target, self.settings)
            self.judges[data.name] = Pipeline(spec, table=data.data)
            self.judges[data.name].run(until="prepare")
        if (data.name, repeat) not in self.splits:
            split = self.judges[data.name].branch(seed=split_seed)
            split.run(until="split")
            self.splits[(data.name, repeat)] = split
        return self.splits[(data.name, repeat)]

    def _peer_args(
        self, job: Job, record: RunRecord, split: Pipeline, folder: Path
    ) -> dict[str, Any]:
        """:func:`.jobs.run_peer`'s arguments for ``job`` (but the folder, time limit and
        threads, which the cell holds); the record gets the peer's settings."""
        s, status = self.settings, self.statuses[job.source]
        assert status.python is not None
        train = split.state.train
        assert train is not None
        extra = None
        if job.epsilon is not None:
            extra = {
                "epsilon": job.epsilon,
                "delta": default_delta(len(train)),
                "domain": peer_domain(self.public[job.data.name][1]),
            }
        record.settings = {"epochs": s["peer_epochs"], "versions": status.versions}
        if extra is not None:
            record.settings.update(epsilon=extra["epsilon"], delta=extra["delta"])
        return {
            "library": job.source, "method": job.method, "python": status.python,
            "train": train, "target": job.data.target, "rows": s["sample_rows"],
            "seed": split.spec.seed, "epochs": s["peer_epochs"], "extra": extra, "tag": job.tag,
        }  # fmt: skip


def _cell_record(cell: CellTask, outcome: Outcome) -> RunRecord:
    """A cell's scored record, or its record marked failed or timed out by the executor."""
    if outcome.ok:
        return outcome.value
    reason = f"{outcome.error} (backend)" if outcome.error else "no result (backend)"
    return cell.failed("timeout" if outcome.status == "timeout" else "failed", reason)


def _assemble(
    records: list[RunRecord],
    settings: dict[str, Any],
    machine: dict[str, Any],
    statuses: dict[str, PeerStatus],
    cache: store.RunCache,
    loaded: list[Dataset],
    wanted_reference: str,
) -> BenchmarkResult:
    """This call's runs merged with the cached ones it did not plan, with time ratios,
    summaries and the datasets' and peers' descriptions."""
    merged = cache.left()
    records = records + merged  # earlier runs this call did not plan: the table keeps them
    if any(r.method == wanted_reference and r.status == "ok" for r in records):
        settings["reference"] = wanted_reference  # cached cart runs still count
    add_ratios(records, settings["reference"])
    for dataset in dict.fromkeys(r.dataset for r in merged):
        if dataset not in settings["datasets"]:
            settings["datasets"].append(dataset)
    machine["load_average_end"] = load_average()
    described = {
        d.name: {
            "rows": len(d.data),
            "columns": d.data.shape[1],
            "target": d.target,
            "dropped": list(d.dropped),
        }
        for d in loaded
    }
    return BenchmarkResult(
        records=records,
        summaries=summarise(records),
        settings=settings,
        machine=machine,
        peers=_peer_summaries(
            statuses, cache.recorded_peers, settings["cached_only"], cache.sources
        ),
        datasets={**store.previous_datasets(cache.path, merged), **described},
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
