"""Tools that judge synthetic rows: evaluate, fairness, compare, write_report,
explain_report.

``evaluate``, ``fairness`` and ``write_report`` carry the last ``generate`` run on
through the pipeline (:meth:`~healthforge.pipeline.Pipeline.extend`: no refit); the spec
they record is that run with its evaluation, which run whole reproduces rows and
figures. ``compare`` runs one spec per generator and ranks them with
:func:`healthforge.evaluation.compare.compare`, as ``healthforge compare`` does.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import pydantic

from healthforge.partner.tools.data import check_modelled, profiled

# duplicates: every tool module imports the same registry pieces
from healthforge.partner.tools.registry import (
    Params,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
    check_known,
    register,
)
from healthforge.partner.tools.runs import (
    build_spec,
    continue_run,
    output_file,
    rel,
    spec_code,
)

HEADLINES = (
    "fidelity.column_similarity",
    "fidelity.pair_similarity",
    "fidelity.detection_auc",
    "utility.ratio",
    "privacy.dcr_ratio",
    "privacy.mia_auc",
    "privacy.exact_match_rate",
)


def last_run(ctx: ToolContext) -> Any:
    """The pipeline of the last generate (or its evaluation); refuses before one."""
    pipeline = ctx.results.get("pipeline")
    if pipeline is None:
        raise ToolError(
            "there are no synthetic rows to evaluate yet", "generate them first (generate)"
        )
    return pipeline


def scores(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The scored metrics: name, value (3 decimals), status, threshold; and the verdict
    and 95% interval of a metric that has them (e.g. an inconclusive privacy.mia_auc)."""
    out = []
    for score in summary.get("scores") or []:
        value = score.get("value")
        row = {
            "metric": score.get("metric"),
            "value": None if value is None else round(float(value), 3),
            "status": score.get("status"),
            "threshold": score.get("threshold"),
        }
        if score.get("verdict"):
            row["verdict"] = score["verdict"]
        if score.get("interval"):
            row["interval"] = [round(float(b), 3) for b in score["interval"]]
        out.append(row)
    return out


def _evaluation_spec(fairness_by: str | None, against: str) -> Any:
    from healthforge.pipeline import EvaluationSpec

    return EvaluationSpec(against=against, fairness_by=fairness_by, from_file=True)


def _carry_on(ctx: ToolContext, evaluation: Any, **outputs: Any) -> tuple[Any, Any]:
    """The last run continued with ``evaluation`` and ``outputs`` changes; (pipeline,
    validated spec). Only the file this step was asked for is written: the evaluation
    JSON and the report an earlier step wrote are not written again (they would change -
    the report carries the time it was made - without the user's consent)."""
    pipeline = last_run(ctx)
    new_outputs = dataclasses.replace(
        pipeline.spec.outputs, **{"json": None, "report": None, **outputs}
    )
    spec = build_spec(
        {
            **pipeline.spec.to_dict(),
            "evaluation": dataclasses.asdict(evaluation),
            "outputs": dataclasses.asdict(new_outputs),
        }
    )
    other = continue_run(ctx, pipeline, evaluation=spec.evaluation, outputs=spec.outputs)
    ctx.results["pipeline"] = other
    result = other.result()
    ctx.results["run"] = result
    ctx.results["evaluation"] = result.evaluation.summary
    return other, spec


def _verdict(table: list[dict[str, Any]]) -> str:
    counts = {s: sum(1 for r in table if r["status"] == s) for s in ("pass", "warn", "fail")}
    text = f"{counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail"
    failed = [r["metric"] for r in table if r["status"] == "fail"]
    if failed:
        text += f" (failed: {', '.join(failed)})"
    return text


# -- evaluate -------------------------------------------------------------------------------


class EvaluateArgs(Params):
    against: Literal["all", "conditioned"] | None = pydantic.Field(
        None,
        description="compare with all real rows, or only those meeting the conditions "
        "(default: conditioned when the rows were generated with conditions)",
    )
    fairness_by: str | None = pydantic.Field(None, description="also compare per group")
    output: str = pydantic.Field("evaluation.json", description="JSON summary file")
    overwrite: bool = False


def _against(ctx: ToolContext, against: str | None) -> str:
    if against is not None:
        return against
    return "conditioned" if last_run(ctx).spec.conditions else "all"


def _check_evaluate(ctx: ToolContext, args: EvaluateArgs) -> None:
    pipeline = last_run(ctx)
    if args.fairness_by is not None:
        check_modelled(ctx, args.fairness_by)
    if args.against == "conditioned" and not pipeline.spec.conditions:
        raise ToolError(
            "the last rows were generated without conditions: nothing to condition on",
            "evaluate against all rows (against: all)",
        )
    output_file(ctx, args.output, args.overwrite, (".json",))


def _evaluate(ctx: ToolContext, args: EvaluateArgs) -> ToolResult:
    out = output_file(ctx, args.output, args.overwrite, (".json",))
    evaluation = _evaluation_spec(args.fairness_by, _against(ctx, args.against))
    pipeline, spec = _carry_on(ctx, evaluation, json=str(out))
    summary = pipeline.result().evaluation.summary
    table = scores(summary)
    headline = [r for r in table if r["metric"] in HEADLINES]
    text = f"Evaluated {summary.get('rows_synthetic')} synthetic rows against "
    text += (
        f"{summary.get('rows_real')} real training rows and {summary.get('rows_holdout')} "
        f"held-out rows ({evaluation.against}): {_verdict(table)}."
    )
    data = {
        "against": evaluation.against,
        "headline": headline,
        "scores": table,
        "skipped": summary.get("skipped") or [],
        "fairness": _fairness_figures(summary.get("fairness")),
        "output": rel(ctx, out),
    }
    learnt = _learn(ctx, pipeline.result())
    if learnt:
        text += f" {learnt}"
    files = [rel(ctx, out)]
    code = spec_code(ctx, spec, "print(result.evaluation.summary['scores'])")
    return ToolResult(summary=text, data=data, files=files, spec=spec, code=code)


def _learn(ctx: ToolContext, result: Any) -> str:
    """Record an evaluated run in the user's selection store (what the recommender
    learns from); a sentence saying so, or '' without healthforge.selection."""
    from healthforge.partner.tools.generation import selection_store

    store = selection_store(ctx)
    if store is None:
        return ""
    from healthforge.selection.runs import learn_from_run

    learn_from_run(result, store)
    return (
        "Its scores were added to your generator-selection record (later recommendations "
        "learn from them)."
    )


def _uses_data(ctx: ToolContext, args: Any) -> str | None:
    return (
        "evaluates against the real rows (training and held-out) and writes "
        f"{getattr(args, 'output', 'a file')} into the session folder"
    )


# duplicates: a tool's declaration, field by field; alike in shape to every other tool's
evaluate = register(
    Tool(
        name="evaluate",
        description="Measure fidelity, utility, privacy (and fairness by a group) of the last "
        "synthetic rows against the real and held-out rows.",
        params=EvaluateArgs,
        run=_evaluate,
        approval=_uses_data,
        check=_check_evaluate,
    )
)


# -- fairness -------------------------------------------------------------------------------


class FairnessArgs(Params):
    by: str = pydantic.Field(description="the group column, e.g. sex or race")
    output: str = pydantic.Field("fairness.json", description="JSON summary file")
    overwrite: bool = False


def _check_fairness(ctx: ToolContext, args: FairnessArgs) -> None:
    last_run(ctx)
    check_modelled(ctx, args.by)
    output_file(ctx, args.output, args.overwrite, (".json",))


def _fairness_figures(fairness: dict[str, Any] | None) -> dict[str, Any] | None:
    if not fairness:
        return None
    groups = {}
    for name, figures in (fairness.get("groups") or {}).items():
        groups[str(name)] = {
            k: (round(float(v), 3) if isinstance(v, int | float) else v) for k, v in figures.items()
        }
    gaps = {k: round(float(v), 3) for k, v in (fairness.get("worst_gap") or {}).items() if v}
    return {"by": fairness.get("by"), "groups": groups, "worst_gap": gaps}


def _fairness(ctx: ToolContext, args: FairnessArgs) -> ToolResult:
    out = output_file(ctx, args.output, args.overwrite, (".json",))
    against = _against(ctx, None)
    pipeline, spec = _carry_on(ctx, _evaluation_spec(args.by, against), json=str(out))
    figures = _fairness_figures(pipeline.result().evaluation.summary.get("fairness"))
    if figures is None:
        raise ToolError(f"fairness by '{args.by}' could not be measured", "see evaluate")
    summary = pipeline.result().evaluation.summary
    text = f"Fairness by {args.by} ({len(figures['groups'])} groups):\n" + "\n".join(
        _group_line(args.by, name, g, _label(ctx, args.by, name), summary)
        for name, g in figures["groups"].items()
    )
    if figures["worst_gap"]:
        worst = ", ".join(f"{k} {v}" for k, v in figures["worst_gap"].items())
        text += f"\nLargest gaps between groups: {worst}."
    code = spec_code(ctx, spec, "print(result.evaluation.summary['fairness'])")
    files = [rel(ctx, out)]
    return ToolResult(summary=text, data=figures, files=files, spec=spec, code=code)


def _label(ctx: ToolContext, column: str, code: str) -> str:
    """``code`` with its value label when the schema has one (race 1 -> "1 (black)")."""
    labels = getattr(profiled(ctx)[column], "labels", None) or {}
    named = {str(k): v for k, v in labels.items()}
    return f"{code} ({named[code]})" if code in named else code


def _group_line(by: str, code: str, g: dict[str, Any], label: str, summary: Any) -> str:
    figures = [f"real share {g.get('share_real')}", f"synthetic share {g.get('share_synthetic')}"]
    for key, name in (("column_similarity", "column similarity"), ("ratio", "TSTR/TRTR")):
        if g.get(key) is not None:
            figures.append(f"{name} {g[key]}")
    line = f"{by}={label}: " + ", ".join(figures)
    reasons = sorted(
        {
            s["reason"]
            for s in summary.get("skipped") or []
            if str(s.get("metric", "")).startswith(f"fairness.groups.{code}.")
        }
    )
    if reasons:
        line += f" (not measured: {'; '.join(reasons)})"
    return line


# duplicates: a tool's declaration, field by field; alike in shape to every other tool's
fairness = register(
    Tool(
        name="fairness",
        description="Compare fidelity and utility of the last synthetic rows across the groups "
        "of one column (e.g. sex, race).",
        params=FairnessArgs,
        run=_fairness,
        approval=_uses_data,
        check=_check_fairness,
    )
)


# -- write_report ---------------------------------------------------------------------------


class ReportArgs(Params):
    output: str = pydantic.Field("report.html", description="HTML report file")
    title: str | None = pydantic.Field(None, description="the report's title")
    overwrite: bool = False


def _check_report(ctx: ToolContext, args: ReportArgs) -> None:
    last_run(ctx)
    output_file(ctx, args.output, args.overwrite, (".html", ".htm"))


def _report(ctx: ToolContext, args: ReportArgs) -> ToolResult:
    out = output_file(ctx, args.output, args.overwrite, (".html", ".htm"))
    pipeline = last_run(ctx)
    evaluation = pipeline.spec.evaluation or _evaluation_spec(None, _against(ctx, None))
    if args.title is not None:
        evaluation = dataclasses.replace(evaluation, title=args.title)
    pipeline, spec = _carry_on(ctx, evaluation, report=str(out))
    table = scores(pipeline.result().evaluation.summary)
    path = rel(ctx, out)
    text = (
        f"Wrote the evaluation report to {path}: one offline HTML page with plots and a "
        f"plain explanation of every metric ({_verdict(table)})."
    )
    code = spec_code(ctx, spec, "print(result.report_path)")
    data = {"output": path, "headline": [r for r in table if r["metric"] in HEADLINES]}
    return ToolResult(summary=text, data=data, files=[path], spec=spec, code=code)


def _writes(ctx: ToolContext, args: Any) -> str | None:
    return f"writes {args.output} into the session folder (plots of real and synthetic rows)"


write_report = register(
    Tool(
        name="write_report",
        description="Write the HTML evaluation report of the last synthetic rows.",
        params=ReportArgs,
        run=_report,
        approval=_writes,
        check=_check_report,
    )
)


# -- explain_report -------------------------------------------------------------------------


class ExplainArgs(Params):
    metric: str | None = pydantic.Field(
        None, description="one metric to explain, e.g. privacy.mia_auc (default: headlines)"
    )


def _check_explain(ctx: ToolContext, args: ExplainArgs) -> None:
    summary = ctx.results.get("evaluation")
    if summary is None:
        raise ToolError("there is no evaluation to explain yet", "evaluate first (evaluate)")
    names = [s["metric"] for s in scores(summary)]
    if args.metric is not None:
        problem = f"the evaluation has no metric '{args.metric}'"
        check_known(args.metric, names, problem, f"metrics: {', '.join(names[:12])}")


def _explain(ctx: ToolContext, args: ExplainArgs) -> ToolResult:
    from healthforge.evaluation.report import metric_label, pretty_threshold
    from healthforge.evaluation.report.text import metric_help

    table = scores(ctx.results["evaluation"])
    if args.metric is not None:
        chosen = [r for r in table if r["metric"] == args.metric]
    else:
        chosen = [r for r in table if r["metric"] in HEADLINES or r["status"] == "fail"]
    lines = []
    for r in chosen:
        value = "not measured" if r["value"] is None else f"{r['value']:.3f}"
        if r.get("interval"):
            value += f" (95% interval {r['interval'][0]:.2f}-{r['interval'][1]:.2f})"
        status = r["status"] or "not scored"
        if r.get("verdict"):
            status += f": {r['verdict']}"
        lines.append(
            f"- {metric_label(r['metric'])}: {value}, {status} "
            f"({pretty_threshold(r['threshold'])}). {metric_help(r['metric'])}"
        )
    text = "What the evaluation says:\n" + "\n".join(lines)
    code = (
        "import json\n\n"
        "summary = json.load(open('evaluation.json'))\n"
        "for score in summary['scores']:\n"
        "    print(score['metric'], score['value'], score['status'])"
    )
    return ToolResult(summary=text, data={"explained": chosen}, code=code)


# duplicates: a tool's declaration, field by field; alike in shape to every other tool's
explain_report = register(
    Tool(
        name="explain_report",
        description="Explain the evaluation's figures in plain language (one metric or the "
        "headlines).",
        params=ExplainArgs,
        run=_explain,
        check=_check_explain,
    )
)
