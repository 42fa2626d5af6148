"""Replay a session: re-run what it executed and confirm identical outputs.

:func:`replay` reads the session's log, re-runs every run specification on the same table
(its fingerprint checked first) with the outputs redirected into a fresh folder, and
compares the sha256 of every file the session wrote with the re-run's. Files the session
wrote outside a run specification (plots, the exported script) are listed as such, and a
file changed in the session folder since it was written is reported too.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from healthforge.errors import HealthForgeError
from healthforge.partner.export import dp_noise, executed_steps, relocate
from healthforge.partner.session import read_log, sha256_file
from healthforge.progress import ProgressCallback


@dataclass
class FileCheck:
    path: str  # relative to the session folder
    expected: str  # sha256 the session logged
    replayed: str | None  # sha256 of the re-run's file (None: not written)
    current: str | None  # sha256 of the file now in the session folder (None: missing)
    # written by a differentially private run whose noise comes from the operating system
    # (docs/privacy.md: noise from a known seed could be subtracted), so by design no
    # re-run draws the same rows; its re-run is reported, not counted as a difference
    dp_noise: bool = False
    # an HTML report identical apart from the minute it was generated ("Generated ... UTC")
    stamp_only: bool = False

    @property
    def identical(self) -> bool:
        return self.replayed == self.expected or self.stamp_only

    @property
    def ok(self) -> bool:
        return (self.identical or self.dp_noise) and not self.changed_since

    @property
    def changed_since(self) -> bool:
        return self.current != self.expected


@dataclass
class ReplayReport:
    steps: int
    files: list[FileCheck] = field(default_factory=list)
    not_replayed: list[str] = field(default_factory=list)  # written outside a run spec

    @property
    def identical(self) -> bool:
        return all(f.ok for f in self.files)

    def notes(self) -> list[str]:
        notes = [
            f"{f.path}: differentially private noise from the operating system; not "
            "reproducible by design (docs/privacy.md)"
            for f in self.files
            if f.dp_noise and f.replayed != f.expected
        ]
        notes += [
            f"{f.path}: identical apart from the time the report was generated"
            for f in self.files
            if f.stamp_only and f.replayed != f.expected
        ]
        return notes

    def differences(self) -> list[str]:
        out = []
        for f in self.files:
            if f.replayed is None:
                out.append(f"{f.path}: not written by the re-run")
            elif not f.identical and not f.dp_noise:
                out.append(
                    f"{f.path}: the re-run differs (sha256 {f.replayed[:12]} instead of "
                    f"{f.expected[:12]})"
                )
            if f.current is None:
                out.append(f"{f.path}: missing from the session folder")
            elif f.changed_since:
                out.append(f"{f.path}: changed in the session folder since the session wrote it")
        return out


def replay(
    session_dir: str | Path,
    out: str | Path | None = None,
    progress: ProgressCallback | None = None,
) -> ReplayReport:
    """Re-run the session in ``session_dir`` into ``out`` (default: a temporary folder,
    removed afterwards) and compare every file's sha256."""
    from healthforge.data import load_table
    from healthforge.pipeline import RunSpec, fingerprint, run

    session = Path(session_dir)
    records = read_log(session)
    steps = executed_steps(records)
    if not steps:
        raise HealthForgeError(
            f"the session in '{session}' executed no run specification: nothing to replay",
            "generate in the session first",
        )
    replayed_paths = {w["path"] for s in steps for w in s["files"]}
    report = ReplayReport(steps=len(steps))
    for record in records:
        if record.get("type") == "result":
            for written in record.get("files") or []:
                if written["path"] not in replayed_paths:
                    report.not_replayed.append(written["path"])
    with tempfile.TemporaryDirectory(prefix="healthforge-replay-") as scratch:
        root = Path(out) if out is not None else Path(scratch)
        root.mkdir(parents=True, exist_ok=True)
        tables = {}
        for step in steps:
            source = step["source"]
            if not source or source == "memory":
                raise HealthForgeError(
                    "the session's table was handed in memory: it cannot be read again",
                    "replay sessions started from a file path or bundled:NAME",
                )
            if source not in tables:
                tables[source] = load_table(source)
            if fingerprint(tables[source]) != step["fingerprint"]:
                raise HealthForgeError(
                    f"{source} is not the table the session used (its fingerprint differs)",
                    "replay on the same data the session read",
                )
            if step["spec"] is None:
                _run_tool(step, tables[source], root)
                _compare(report, step, root, session, noise=False)
                continue
            spec = RunSpec.from_dict(relocate(step["spec"], root, session))
            # the tools run a file or bundled:NAME source as the CLI does, reading it (a
            # bundled codebook applies); the fingerprint above checked it is the same table
            run(spec, progress=progress)
            noise = dp_noise(spec)
            _compare(report, step, root, session, noise)
    return report


STAMP = re.compile(rb"Generated \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")


def unstamped(path: Path) -> str:
    """sha256 of an HTML report with its generation time masked."""
    return hashlib.sha256(STAMP.sub(b"Generated - UTC", path.read_bytes())).hexdigest()


def _compare(
    report: ReplayReport, step: dict[str, Any], root: Path, session: Path, noise: bool
) -> None:
    """Add the check of every file ``step`` wrote: the re-run's sha256 against the log's."""
    for written in step["files"]:
        path = root / written["path"]
        now = session / written["path"]
        check = FileCheck(
            path=written["path"],
            expected=written["sha256"],
            replayed=sha256_file(path) if path.is_file() else None,
            current=sha256_file(now) if now.is_file() else None,
            dp_noise=noise,
        )
        if check.replayed not in (None, check.expected) and not check.changed_since:
            check.stamp_only = path.suffix in (".html", ".htm") and unstamped(path) == unstamped(
                now
            )
        report.files.append(check)


def _run_tool(step: dict[str, Any], table: Any, root: Path) -> None:
    """Run a logged tool step again, with its validated arguments, into ``root``."""
    from healthforge.partner.tools import ToolContext, get_tool

    context = step["context"] or {}
    ctx = ToolContext(
        session_dir=root,
        frame=table,
        source=step["source"],
        target=context.get("target"),
        seed=int(context.get("seed", 0)),
    )
    if context.get("drop"):
        ctx.results["drop"] = list(context["drop"])
    tool = get_tool(step["tool"])
    tool.execute(ctx, tool.validate(ctx, step["args"]))
