"""``healthforge partner [DATA]``: the AI partner in the terminal, or scripted.

Interactive: type what you want; each proposal shows its plan and numbered choices
(1 approve, 2 change, 3 reject). Scripted: ``--say "..."`` (repeatable) runs the turns in
order; without ``--yes`` it stops at the first proposal, prints it and exits 0 with
nothing run. ``healthforge partner replay DIR`` re-runs a session and compares every
file; ``healthforge partner export DIR`` writes its reproduction script.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from healthforge.cli.common import app, console, err_console, handle_errors, progress_bar
from healthforge.errors import HealthForgeError

STYLE = {
    "message": "",
    "notice": "yellow",
    "proposal": "bold cyan",
    "progress": "dim",
    "result": "green",
    "error": "bold red",
}
CHOICES = "  1. approve   2. change a parameter   3. reject (and see alternatives)"


@app.command("partner")
@handle_errors
def partner(
    data: str | None = typer.Argument(
        None,
        metavar="[DATA]",
        help="A CSV/TSV/Parquet/Excel file or bundled:NAME; or 'replay DIR' / 'export DIR'.",
    ),
    directory: str | None = typer.Argument(None, hidden=True, metavar="[DIR]"),
    say: list[str] | None = typer.Option(
        None, "--say", help="A turn of the conversation (repeatable): scripted mode."
    ),
    yes: bool = typer.Option(False, "--yes", help="Approve every proposal (scripts)."),
    session_dir: Path | None = typer.Option(
        None, "--session-dir", help="Folder for the session's log and files."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed of every run."),
    llm_url: str | None = typer.Option(
        None,
        "--llm-url",
        help="An OpenAI-compatible endpoint (llama.cpp server, Ollama, vLLM, a hosted API); "
        "default: HEALTHFORGE_LLM_BASE_URL, else no language model.",
    ),
    llm_model: str | None = typer.Option(None, "--llm-model", help="The endpoint's model."),
    gguf: Path | None = typer.Option(
        None, "--gguf", help="A local GGUF file run in-process (llama-cpp-python extra)."
    ),
    allow_rows: bool = typer.Option(
        False,
        "--allow-rows-to-model",
        help="Let a local model (in-process or on 127.0.0.1) see a few rows; never a remote one.",
    ),
) -> None:
    """Talk to HealthForge: from a table to an evaluated, reported synthetic dataset.

    Runs offline without a language model (a rule-based router). Nothing that fits,
    uses your data beyond profiling, makes a privacy choice or writes a file runs
    before you approve it (--yes approves in scripts). Every session writes an
    append-only log (session.jsonl) that `healthforge partner replay DIR` re-runs.
    """
    if data in ("replay", "export"):
        if directory is None:
            raise HealthForgeError(f"'healthforge partner {data}' needs the session folder")
        (_replay if data == "replay" else _export)(Path(directory))
        return
    if directory is not None:
        raise HealthForgeError(f"unexpected argument '{directory}'", "give one DATA source")
    from healthforge.partner import Partner

    folder = session_dir or Path(f"healthforge-session-{time.strftime('%Y%m%d-%H%M%S')}")
    backend = _backend(llm_url, llm_model, gguf)
    session = Partner(
        data,
        folder,
        backend=backend,
        auto_approve=yes,
        allow_rows_to_model=allow_rows,
        seed=seed,
    )
    if allow_rows and not session.state.allow_rows_to_model:
        err_console.print(
            "[yellow]note:[/] rows are never sent to a remote model; --allow-rows-to-model "
            "is ignored",
            highlight=False,
        )
    console.print(f"session folder: {escape(str(folder))}", highlight=False)
    if backend is not None:
        console.print(f"language model: {escape(backend.name)}", highlight=False)
    if say:
        _scripted(session, say)
    else:
        _interactive(session)


def _backend(url: str | None, model: str | None, gguf: Path | None) -> Any:
    """The language-model backend asked for, or None (the rule-based router)."""
    import os

    if gguf is not None:
        from healthforge.partner.backends.llama_cpp import LlamaCppBackend

        return LlamaCppBackend(gguf)
    if url or os.environ.get("HEALTHFORGE_LLM_BASE_URL"):
        from healthforge.partner.backends.openai_compat import OpenAICompatBackend

        return OpenAICompatBackend(base_url=url, model=model)
    return None


def _scripted(session: Any, turns: list[str]) -> None:
    with _progress(session):
        events = session.start()
    _show(events)
    if session.pending:
        return _stopped(session)
    for turn in turns:
        console.print(f"\n[bold]you>[/] {escape(turn)}", highlight=False)
        with _progress(session):
            events = session.send(turn)
        _show(events)
        if session.pending:
            return _stopped(session)
    return None


def _stopped(session: Any) -> None:
    ids = ", ".join(a.id for a in session.pending)
    console.print(
        f"\nstopped: proposal {ids} awaits approval; nothing was run. Re-run with --yes to "
        "approve, or without --say to decide interactively.",
        highlight=False,
    )


def _interactive(session: Any) -> None:
    console.print("Type what you want; 'quit' to leave.", highlight=False)
    with _progress(session):
        _show(session.start())
    while True:
        if session.pending:
            action = session.pending[-1]
            choice = typer.prompt("choose 1, 2 or 3", default="1")
            with _progress(session):
                if choice.strip() == "1":
                    events = session.approve(action.id)
                elif choice.strip() == "2":
                    change = typer.prompt("what to change (e.g. 'rows 500', 'generator cart')")
                    events = session.send(change)
                elif choice.strip() == "3":
                    events = session.reject(action.id, "rejected in the terminal")
                else:
                    events = session.send(choice)
            _show(events)
            continue
        try:
            text = typer.prompt("you", prompt_suffix="> ")
        except (EOFError, typer.Abort):
            break
        if text.strip().lower() in ("quit", "exit", "bye", "q"):
            break
        with _progress(session):
            _show(session.send(text))
    console.print(f"session saved in {escape(str(session.session_dir))}", highlight=False)


def _show(events: list[Any]) -> None:
    for event in events:
        style = STYLE.get(event.kind, "")
        label = {"proposal": "proposal", "result": "done", "error": "error", "notice": "note"}
        head = label.get(event.kind)
        if event.action is not None and head:
            head = f"{head} {event.action.id} ({event.action.tool})"
        text = escape(event.text)
        if head:
            console.print(
                f"[{style}]{head}:[/] {text}" if style else f"{head}: {text}", highlight=False
            )
        else:
            console.print(f"partner: {text}", highlight=False)
        for path in event.files:
            console.print(f"  file: {escape(path)}", highlight=False)
        if event.kind == "proposal":
            console.print(CHOICES, highlight=False)


@contextmanager
def _progress(session: Any) -> Iterator[None]:
    with progress_bar() as bar:
        session.progress = lambda e: bar(e.data["stage"], e.data["done"], e.data["total"])
        try:
            yield
        finally:
            session.progress = None


def _replay(folder: Path) -> None:
    from healthforge.partner.replay import replay

    with progress_bar() as bar:
        report = replay(folder, progress=bar)
    for check in report.files:
        mark = "identical" if check.identical and not check.changed_since else "DIFFERS  "
        if check.dp_noise and check.ok and not check.identical:
            mark = "DP noise "
        console.print(f"{mark} {escape(check.path)}", highlight=False)
    for path in report.not_replayed:
        console.print(
            f"not re-run (written outside a run specification): {escape(path)}", highlight=False
        )
    for note in report.notes():
        console.print(f"note: {escape(note)}", highlight=False)
    if report.identical:
        same = sum(f.identical for f in report.files)
        console.print(
            f"replayed {report.steps} run(s): {same} of {len(report.files)} files identical"
            + ("" if same == len(report.files) else "; the others come from DP runs (notes)"),
            highlight=False,
        )
        return
    console.file.flush()
    for line in report.differences():
        err_console.print(f"[bold red]differs:[/] {escape(line)}", highlight=False)
    raise typer.Exit(1)


def _export(folder: Path) -> None:
    from healthforge.partner.export import export_script

    path = export_script(folder)
    console.print(
        f"wrote {escape(str(path))}: run it with `python {escape(str(path))}`", highlight=False
    )
