"""Building, checking and running the partner's run specifications.

Every tool that fits, samples, evaluates or writes goes through here: the session's
choices (source, target, dropped columns, privacy) become a validated
:class:`~healthforge.pipeline.RunSpec`, run by :mod:`healthforge.pipeline` on the table
in memory, and the same spec is rendered as the public-API lines that reproduce it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from healthforge.errors import HealthForgeError
from healthforge.partner.tools.data import dropped
from healthforge.partner.tools.registry import ToolContext, ToolError, session_path

IN_MEMORY = "memory:table"  # the source a table handed to the partner in memory is named by
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet")


def privacy_settings(ctx: ToolContext) -> dict[str, Any]:
    """The session's privacy choice (set_privacy): preset, epsilon, public schema file."""
    return dict(ctx.results.get("privacy") or {"preset": "none"})


def data_section(ctx: ToolContext) -> dict[str, Any]:
    """The spec's ``data``: the session's source, target, dropped columns and the public
    schema a strict privacy choice named."""
    data: dict[str, Any] = {
        "source": ctx.source or IN_MEMORY,
        "target": ctx.target,
        "drop": dropped(ctx),
    }
    schema = privacy_settings(ctx).get("schema")
    if schema is not None:
        data["schema"] = schema
    return data


def build_spec(raw: dict[str, Any]) -> Any:
    """A validated RunSpec from a mapping; a library refusal becomes a ToolError."""
    from healthforge.pipeline import RunSpec

    try:
        return RunSpec.from_dict(raw)
    except ToolError:
        raise
    except HealthForgeError as exc:
        raise ToolError(exc.message, exc.hint) from None


def output_file(ctx: ToolContext, name: str, overwrite: bool, suffixes: tuple[str, ...]) -> Path:
    """``name`` inside the session directory, with an accepted suffix, not overwriting."""
    if not name.lower().endswith(suffixes):
        raise ToolError(
            f"'{name}' should end in {' or '.join(suffixes)}",
            f"e.g. '{Path(name).stem or 'output'}{suffixes[0]}'",
        )
    return session_path(ctx, name, overwrite)


def session_table(ctx: ToolContext) -> Any:
    """The rows a run is handed: None when the session read a file or bundled:NAME (the
    pipeline reads that source itself, as the CLI does, bundled codebook included, so
    ``run(spec)`` reproduces the run); the frame itself when it came in memory."""
    return None if ctx.source else ctx.frame


def execute(ctx: ToolContext, spec: Any, until: str | None = None, table: Any = "session") -> Any:
    """Run ``spec`` through the pipeline (on ``table``; default :func:`session_table`);
    returns the Pipeline (its ``result()`` is the RunResult). Library refusals become
    ToolErrors."""
    from healthforge.pipeline import Pipeline

    given = session_table(ctx) if isinstance(table, str) else table
    try:
        pipeline = Pipeline(spec, progress=ctx.progress, table=given)  # type: ignore[arg-type]
        pipeline.run(until=until)
    except HealthForgeError as exc:
        raise ToolError(exc.message, exc.hint) from None
    return pipeline


def continue_run(ctx: ToolContext, pipeline: Any, **changes: Any) -> Any:
    """Carry a finished run on (e.g. evaluate it) without fitting again; see
    :meth:`healthforge.pipeline.Pipeline.extend`."""
    try:
        other = pipeline.extend(progress=ctx.progress, **changes)
        other.run()
    except HealthForgeError as exc:
        raise ToolError(exc.message, exc.hint) from None
    return other


def spec_code(ctx: ToolContext, spec: Any, extra: str = "") -> str:
    """Public-API Python that runs ``spec`` again (on the same data, same outputs)."""
    text = spec.to_json().rstrip("\n")
    lines = ["from healthforge.pipeline import RunSpec, run", ""]
    lines.append(f"spec = RunSpec.from_json('''{text}''')")
    if spec.data.source == IN_MEMORY:
        lines.append("result = run(spec, table=table)  # table: the DataFrame you started from")
    else:
        lines.append("result = run(spec)")
    if extra:
        lines.append(extra)
    return "\n".join(lines)


def rel(ctx: ToolContext, path: Path | str) -> str:
    """A file's path relative to the session directory (as events list them)."""
    try:
        return str(Path(path).resolve().relative_to(ctx.session_dir.resolve()))
    except ValueError:
        return str(path)


def check_epsilon(epsilon: float | None) -> None:
    if epsilon is not None and not epsilon > 0:
        raise ToolError(
            f"epsilon must be above 0, not {epsilon:g}",
            "use e.g. 1.0 (strict allows up to 1; smaller is more private)",
        )
