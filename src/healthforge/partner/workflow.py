"""The workflow as a state machine, with backtracking.

Stages, in order: ``start -> loaded -> profiled -> phi_screened -> generator_chosen ->
generated -> evaluated -> reported``. A tool that succeeds moves the session forward
(:func:`advance`); :func:`next_step` is what comes next. When an evaluation's privacy
verdict fails (a privacy metric's status is ``fail``, or the detection test says the
rows copy the training rows), the stage goes back to ``generator_chosen`` and
:func:`backtrack_options` offers the fixes - the privacy filter, a larger leaf size for
a tree generator, a differentially private generator - each of which is re-evaluated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

STAGES = (
    "start",
    "loaded",
    "profiled",
    "phi_screened",
    "generator_chosen",
    "generated",
    "evaluated",
    "reported",
    "exported",
)
# the stage a successful tool reaches (never moves the session backwards, except backtracking)
REACHES = {
    "load_data": "loaded",
    "profile_data": "profiled",
    "screen_phi": "phi_screened",
    "drop_columns": "phi_screened",
    "recommend_generators": "generator_chosen",
    "set_privacy": "generator_chosen",
    "generate": "generated",
    # augment is a side step: its own experiment and files, not the main synthetic dataset
    "run_scenario": "generated",
    "evaluate": "evaluated",
    "compare": "evaluated",
    "write_report": "reported",
    "export_code": "exported",
}
NEXT_TOOL = {
    "start": "load_data",
    "loaded": "profile_data",
    "profiled": "screen_phi",
    "phi_screened": "recommend_generators",
    "generator_chosen": "generate",
    "generated": "evaluate",
    "evaluated": "write_report",
    "reported": "export_code",
}
STAGE_TEXT = {
    "start": "no data loaded yet",
    "loaded": "data loaded",
    "profiled": "data profiled",
    "phi_screened": "identifiers screened",
    "generator_chosen": "generator chosen",
    "generated": "synthetic data generated",
    "evaluated": "synthetic data evaluated",
    "reported": "report written",
    "exported": "script exported",
}
DP_FALLBACK = "dp_copula"  # fits in seconds on the bundled tables (benchmarks/results/dp_speed)
LEAF_GENERATORS = ("cart", "arf")
PRIVATE = (
    "aim",
    "mst",
    "dp_copula",
    "dpctgan",
    "dptvae",
)  # strict already filters  # tree generators with a min_samples_leaf


@dataclass
class Option:
    """One way forward the partner can propose: a tool call and why."""

    tool: str
    args: dict[str, Any]
    why: str
    extra: dict[str, Any] = field(default_factory=dict)


def stage_index(stage: str) -> int:
    return STAGES.index(stage) if stage in STAGES else 0


def advance(stage: str, tool: str) -> str:
    """The stage after ``tool`` succeeded at ``stage`` (forward only)."""
    reached = REACHES.get(tool)
    if reached is None or stage_index(reached) <= stage_index(stage):
        # re-generating after an evaluation starts the cycle again
        if tool in ("generate", "run_scenario") and stage_index(stage) > 5:
            return "generated"
        return stage
    return reached


def next_step(stage: str) -> str | None:
    return NEXT_TOOL.get(stage)


def privacy_failures(summary: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The privacy checks an evaluation summary fails: privacy metrics with status
    ``fail``, and a detection AUC failing on its lower (copying) side."""
    if not summary:
        return []
    failed = []
    for entry in summary.get("scores") or []:
        metric = str(entry.get("metric", ""))
        if entry.get("status") != "fail":
            continue
        if metric.startswith("privacy.") or (
            metric == "fidelity.detection_auc" and entry.get("verdict")
        ):
            failed.append(
                {
                    "metric": metric,
                    "value": entry.get("value"),
                    "threshold": entry.get("threshold"),
                    "verdict": entry.get("verdict"),
                }
            )
    return failed


def backtrack_options(
    last_generate: dict[str, Any] | None, tried: list[dict[str, Any]]
) -> list[Option]:
    """Ways to fix a failed privacy check, not yet tried: the privacy filter, a larger leaf
    (tree generators), a differentially private generator. ``last_generate``: the
    arguments of the generation that failed; ``tried``: arguments of generations so far."""
    base = dict(last_generate or {})
    generator = str(base.get("generator") or "bayesian_network")
    options: list[Option] = []
    private = generator in PRIVATE or base.get("privacy") == "strict"
    if base.get("privacy") in (None, "none") and generator != "auto" and not private:
        options.append(
            Option(
                "generate",
                {**base, "privacy": "standard"},
                "the privacy filter: drop drawn rows that copy a real record, sit closer to one "
                "than real people do to each other, or carry a unique quasi-identifier "
                "combination",
            )
        )
    if generator in LEAF_GENERATORS:
        params = dict(base.get("params") or {})
        leaf = params.get("min_samples_leaf")
        larger = int(leaf) * 2 if isinstance(leaf, int) and leaf > 0 else 20
        options.append(
            Option(
                "generate",
                {**base, "params": {**params, "min_samples_leaf": larger}},
                f"a larger leaf size (min_samples_leaf={larger}): each synthetic value is drawn "
                "from a bigger group of real people, so no row follows one person closely",
            )
        )
    if not private and not any(t.get("generator") == DP_FALLBACK for t in tried):
        # strict: a DP generator with public bounds (a bundled table's codebook, or the
        # user's schema file) and the filter; the generation after it uses DP_FALLBACK
        options.append(
            Option(
                "set_privacy",
                {"preset": "strict", "epsilon": 1.0},
                f"a differentially private generator ({DP_FALLBACK}, ε = 1, public bounds, "
                "and the filter): a mathematical bound on what the synthetic data can reveal "
                "about any one person",
            )
        )
    seen = [option_key(t) for t in tried]
    return [o for o in options if o.tool != "generate" or option_key(o.args) not in seen]


def option_key(args: dict[str, Any]) -> str:
    """Arguments compared without the output file name."""
    return json.dumps({k: v for k, v in args.items() if k != "output"}, sort_keys=True, default=str)


# -- expected time, from the benchmark's results files ------------------------------------
RESULTS = Path(__file__).resolve().parents[3] / "benchmarks" / "results"


@lru_cache(maxsize=1)
def _fit_rates() -> dict[str, list[float]]:
    """Seconds of fit per 1,000 real rows, per generator, over the benchmark's runs."""
    rates: dict[str, list[float]] = {}
    rows = {"nhefs": 1566, "icu": 200, "pima": 768, "tissue": 106}
    for name in ("benchmark.json", "benchmark_icu.json", "benchmark_pima.json"):
        path = RESULTS / name
        if not path.is_file():
            continue
        try:
            runs = json.loads(path.read_text(encoding="utf-8")).get("runs", [])
        except (OSError, ValueError):
            continue
        for run in runs:
            seconds, n = run.get("fit_seconds"), rows.get(str(run.get("dataset")))
            if run.get("status") == "ok" and isinstance(seconds, int | float) and n:
                rates.setdefault(str(run.get("method")), []).append(1000.0 * seconds / n)
    return rates


def expected_seconds(generator: str, rows: int | None) -> float | None:
    """The median benchmark fit time per row of ``generator`` times ``rows``; ``None``
    when the benchmark never ran it (the plan then says so)."""
    rates = sorted(_fit_rates().get(generator, []))
    if not rates or not rows:
        return None
    return rates[len(rates) // 2] * rows / 1000.0


def evaluation_summary(data: dict[str, Any], results: dict[str, Any]) -> dict[str, Any] | None:
    """The evaluation summary (with its ``scores``) a tool returned or left in results."""
    found = results.get("evaluation")
    summary = getattr(found, "summary", found)
    if isinstance(summary, dict) and "scores" in summary:
        return summary
    for key in ("summary", "evaluation"):
        if isinstance(data.get(key), dict) and "scores" in data[key]:
            return data[key]
    return data if isinstance(data.get("scores"), list) else None


# -- the plan a proposal states -----------------------------------------------------------
FILE_KEYS = ("out", "file", "path", "report", "json", "synthetic", "name", "output")
LONG_SECONDS = 5.0


def plan_text(tool: str, args: dict[str, Any], state: Any) -> str:
    """What will happen, in plain words: the generator and its parameters, the expected
    time from the benchmark, and the files written into the session folder."""
    frame = getattr(state, "frame", None)
    n = None if frame is None else len(frame)
    lines: list[str] = []
    if tool in ("generate", "augment", "run_scenario"):
        generator = str(args.get("generator") or "the default generator")
        params = args.get("params") or {}
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        what = {"generate": "Generate", "augment": "Augment", "run_scenario": "Run"}[tool]
        line = f"{what}: fit {generator}" + (f" ({shown})" if shown else "")
        if n is not None:
            line += f" on your {n:,} rows"
        if args.get("balance"):
            line += f", add synthetic rows to the small groups of {args['balance']} and measure"
            line += f" whether that helps over {args.get('repeats', 3)} repeated splits"
        if args.get("rows"):
            line += f", draw {args['rows']:,} synthetic rows"
        if args.get("conditions"):
            line += f" where {' and '.join(map(str, args['conditions']))}"
        if args.get("epsilon") is not None:
            line += f", differential privacy ε = {args['epsilon']}"
        if args.get("privacy") not in (None, "none"):
            line += f", privacy preset '{args['privacy']}'"
        lines.append(line + ".")
        seconds = expected_seconds(str(args.get("generator")), n)
        if seconds is None:
            lines.append("Expected time: not measured by the benchmark for this generator.")
        else:
            lines.append(
                f"Expected time: {_duration(seconds)} to fit (the benchmark's median "
                f"for {generator}, scaled to {n:,} rows)."
            )
    else:
        shown = ", ".join(f"{k}={v}" for k, v in args.items() if v not in (None, [], {}, ""))
        lines.append(f"Run {tool}" + (f" with {shown}" if shown else "") + ".")
    files = [str(v) for k, v in args.items() if k in FILE_KEYS and isinstance(v, str) and v]
    if files:
        lines.append(f"Writes into the session folder: {', '.join(files)}.")
    elif tool in (
        "generate",
        "augment",
        "run_scenario",
        "evaluate",
        "write_report",
        "export_code",
        "plot_column",
    ):
        lines.append("Writes its files into the session folder (nothing is overwritten).")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "under a second"
    if seconds < 90:
        return f"about {seconds:.0f} s"
    return f"{seconds / 60:.0f} min"
