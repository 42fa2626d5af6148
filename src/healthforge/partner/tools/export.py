"""export_code: the session's steps as one standalone Python script of public-API calls.

The script runs every run specification the session executed, in order (and the steps
recorded as code, such as an augmentation), so running it on the same data rewrites
the same synthetic rows and figures.
"""

from __future__ import annotations

import pydantic

# duplicates: every tool module imports the same registry pieces
from healthforge.partner.tools.registry import (
    Params,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
    register,
)
from healthforge.partner.tools.runs import IN_MEMORY, output_file, rel

HEADER = '''"""HealthForge session script: reproduces the session's runs with the public API.

Run it with the same data available ({sources}); it rewrites the same files.
"""

from healthforge.pipeline import RunSpec, run
'''


class ExportArgs(Params):
    output: str = pydantic.Field("session.py", description="the script's file name")
    overwrite: bool = False


def _check(ctx: ToolContext, args: ExportArgs) -> None:
    if not ctx.specs and not ctx.results.get("steps_code"):
        raise ToolError("nothing has run yet, so there is nothing to export", "generate first")
    output_file(ctx, args.output, args.overwrite, (".py",))


def script(ctx: ToolContext) -> str:
    """The script text of the session so far."""
    sources = sorted({s.data.source for s in ctx.specs} | ({ctx.source} if ctx.source else set()))
    parts = [HEADER.format(sources=", ".join(sources) or "the table")]
    if any(s.data.source == IN_MEMORY for s in ctx.specs):
        parts.append("table = ...  # the DataFrame the session started from\n")
    for i, spec in enumerate(ctx.specs, start=1):
        text = spec.to_json().rstrip("\n")
        table = ", table=table" if spec.data.source == IN_MEMORY else ""
        parts.append(f"# step {i}\nrun(RunSpec.from_json('''{text}'''){table})\n")
    for code in ctx.results.get("steps_code") or []:
        parts.append(f"# a step recorded as code\n{code}\n")
    return "\n".join(parts)


def _export(ctx: ToolContext, args: ExportArgs) -> ToolResult:
    from healthforge.data.io import atomic_write_text
    from healthforge.partner.export import export_script
    from healthforge.partner.session import LOG_NAME

    path = output_file(ctx, args.output, args.overwrite, (".py",))
    name = rel(ctx, path)
    if (ctx.session_dir / LOG_NAME).is_file():
        # a partner session: its log holds every file's sha256, so the script also checks
        # that the table is the same and that it rewrote identical files
        path.unlink(missing_ok=True)  # overwrite was allowed by output_file
        export_script(ctx.session_dir, path)
        checks = "; it checks the table's fingerprint and every file's sha256"
    else:  # no session log (e.g. over MCP): the specs, run in order
        atomic_write_text(path, script(ctx))
        checks = ""
    summary = (
        f"Wrote {name}: the session's {len(ctx.specs)} run specification(s) as a standalone "
        f"script; `python {name}` on the same data reproduces its outputs{checks}."
    )
    return ToolResult(
        summary=summary,
        data={"file": name, "steps": len(ctx.specs)},
        files=[name],
        code=f"# see {name}",
    )


def _approval(ctx: ToolContext, args: ExportArgs) -> str | None:
    return f"writes {args.output} into the session folder"


# duplicates: a tool's declaration, field by field; alike in shape to every other tool's
export_code = register(
    Tool(
        name="export_code",
        description="Write the session's steps as a standalone Python script that reproduces "
        "its outputs.",
        params=ExportArgs,
        run=_export,
        approval=_approval,
        check=_check,
        needs_data=False,
    )
)
