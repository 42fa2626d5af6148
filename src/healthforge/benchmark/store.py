"""The benchmark's results file as a store: every finished run, keyed, reused on re-runs.

A run's key names the job (dataset, method, epsilon, repeat, split seed, the settings
that change its numbers) and the *code version* that measured it: a hash of the code
its result depends on. Re-running a benchmark reuses runs whose key matches; a run of
the same job measured with other code is stale and is measured again. Each finished
run is written to the file at once, so an interrupted benchmark resumes where it
stopped, and runs from other invocations are merged into the table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from healthforge.benchmark.peers import PeerStatus
from healthforge.benchmark.records import RunRecord
from healthforge.errors import HealthForgeError

RETRY = {"timeout", "unavailable", "not run"}  # may pass on a quieter machine or later
COMPOSITE = {"ensemble"}  # generators that fit other generators, named in their parameters


def code_version(source: str, method: str, statuses: dict[str, PeerStatus]) -> str:
    """A short hash of the code a run's result depends on: the generator's module (and
    the shared generator and evaluation code), or for a peer our runner plus its
    installed versions. A change there makes cached runs stale."""
    import hashlib
    import importlib.util

    import healthforge

    root = Path(healthforge.__file__).parent
    files = sorted((root / "evaluation").rglob("*.py"))
    if source == "healthforge":
        from healthforge.generators import registry

        target = registry._GENERATORS.get(method, "")
        try:
            found = importlib.util.find_spec(target.partition(":")[0]) if target else None
        except ImportError:  # a plugin importable only in the child
            found = None
        origin = Path(found.origin) if found is not None and found.origin else None
        files += sorted((root / "generators" / "core").glob("*.py"))  # the contract
        files += [root / "benchmark" / "worker.py"]
        files += sorted((root / "pipeline").glob("*.py"))  # the worker runs the pipeline
        files += sorted(_imported_sources(origin, root)) if origin else []
        if method in COMPOSITE:  # its members are chosen by a parameter: any may matter
            files += sorted((root / "generators").rglob("*.py"))
        extra = healthforge.__version__
    else:
        files += [root / "benchmark" / "peer_runner.py"]
        status = statuses.get(source)
        extra = status.versions if status is not None else ""
    digest = hashlib.sha1(extra.encode())
    for path in files:
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def slot(key: str) -> str:
    """A run key without its code version: which job it is, whatever code measured it.

    The number of sampled blocks evaluated is left out too: a run evaluated on more
    blocks is the same job measured better, and replaces the other."""
    job = json.loads(key)[:-1]
    if isinstance(job[-1], dict):
        job[-1] = {k: v for k, v in job[-1].items() if k != "eval_draws"}
    return json.dumps(job, sort_keys=True)


def _imported_sources(start: Path, root: Path) -> set[Path]:
    """``start`` and every healthforge module it imports, directly or through others
    (imports inside functions too): a generator split over several modules, or one
    sharing helpers, must go stale when any of them changes, not only its entry file."""
    import ast

    seen: set[Path] = set()
    todo = [start]
    while todo:
        path = todo.pop()
        if path in seen or not path.exists():
            continue
        seen.add(path)
        package = path.parent.relative_to(root.parent).parts
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else ()
                names = [".".join((*base, *(node.module or "").split(".")))]
                names += [f"{names[0]}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                parts = name.strip(".").split(".")
                if parts[0] != root.name:
                    continue
                module = root.parent.joinpath(*parts)
                todo += [module.with_suffix(".py"), module / "__init__.py"]
    # The registry and package indexes name generators without changing their numbers
    # (the registry found by its module, wherever the generators' layout puts it).
    from healthforge.generators import registry

    skip = {root / "__init__.py", root / "generators" / "__init__.py"}
    return seen - skip - {Path(registry.__file__)}


def previous_runs(path: Path, reference: str | None = None) -> dict[str, RunRecord]:
    """Runs of an earlier ``benchmark.json`` by key (an unreadable file is an error:
    silently starting afresh would overwrite hours of measurements).

    Time ratios are kept only when that file's reference is ``reference``: a run without
    the wanted reference timed against a stand-in (the first generator, itself 1.0), and
    those ratios must be paired afresh with the reference's runs."""
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text())
        runs = [RunRecord.from_dict(run) for run in document.get("runs", [])]
    except (ValueError, TypeError, AttributeError) as exc:
        raise HealthForgeError(
            f"'{path}' is not a benchmark results file ({exc})",
            "pass --force to replace it, or choose another --out folder",
        ) from exc
    used = (document.get("settings") or {}).get("reference")
    if reference is not None and used is not None and used != reference:
        for run in runs:
            run.fit_ratio = run.sample_ratio = None
    return {run.key: run for run in runs if run.key}


def previous_datasets(path: Path | None, merged: list[RunRecord]) -> dict[str, Any]:
    if path is None or not merged or not path.exists():
        return {}
    datasets = json.loads(path.read_text()).get("datasets") or {}
    return {name: datasets[name] for name in {r.dataset for r in merged} if name in datasets}


def previous_peers(path: Path | None) -> dict[str, Any]:
    """The peers' install states recorded in the results file ``path``."""
    if path is None or not path.exists():
        return {}
    return json.loads(path.read_text()).get("peers") or {}


def checkpoint(path: Path | None, records: list[RunRecord], previous: dict) -> None:
    """Write every run so far (and earlier ones not yet reached) into ``path``, so an
    interrupted benchmark resumes from its last finished job."""
    if path is None:
        return
    from healthforge.data.io import atomic_write_text

    document: dict[str, Any] = {}
    if path.exists():
        try:
            document = json.loads(path.read_text())
        except ValueError:
            document = {}
    runs = [r.to_dict() for r in records] + [r.to_dict() for r in previous.values()]
    document.update(partial=True, runs=runs)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=2, default=plain)
    atomic_write_text(path, text.replace("NaN", "null") + "\n")


def plain(value: Any) -> Any:
    return float(value) if hasattr(value, "__float__") else str(value)


class RunCache:
    """The runs of an earlier results file (none with ``force``), taken as they are used."""

    def __init__(self, path: Path | None, force: bool, reference: str) -> None:
        self.path = path
        self.previous = {} if force or path is None else previous_runs(path, reference)
        self.recorded_peers = {} if force else previous_peers(path)
        # peers with runs in the file, whether or not this call runs them
        self.sources = {r.source for r in self.previous.values()} - {"healthforge"}

    def take(self, key: str, cached_only: bool) -> RunRecord | None:
        """The cached run for ``key`` if it can stand; drops stale runs of the same job."""
        cached = self.previous.pop(key, None)
        # the same job measured with other code: stale, replaced by this measurement
        # (or, when only assembling from the results file, shown with its version)
        stale = [k for k in self.previous if slot(k) == slot(key)]
        for k in stale:
            older = self.previous.pop(k)
            if cached is None and cached_only:
                cached = older
        # assembling from the file: a timeout stays a timeout rather than "not run"
        if cached is not None and (cached_only or cached.status not in RETRY):
            return cached
        return None

    def left(self) -> list[RunRecord]:
        """Earlier runs this call did not plan (or replace), worth keeping in the table."""
        return [r for r in self.previous.values() if r.status not in RETRY]
