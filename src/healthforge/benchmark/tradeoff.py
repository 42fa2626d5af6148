"""The privacy-utility trade-off of a benchmark: DP methods at each ε, beside non-DP ones.

Markdown: one table per dataset with utility (TSTR/TRTR), the attacks of the evaluation
suite (membership inference, singling out, linkability, attribute inference) and fit
time, per method and ε. Plot: utility ratio vs ε and membership AUC vs ε, one line per
DP method, non-DP methods as dashed horizontal lines (they have no ε).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from healthforge.benchmark.style import colour, fmt_stat

if TYPE_CHECKING:
    from healthforge.benchmark.records import Summary
    from healthforge.benchmark.result import BenchmarkResult

# (header, field, decimals)
# duplicates: the table's columns; output.py declares its own (another table)
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("TSTR/TRTR", "utility_ratio", 3),
    ("MIA AUC", "mia_auc", 3),
    ("singling-out risk", "singling_out_risk", 3),
    ("linkability risk", "linkability_risk", 3),
    ("inference risk", "inference_risk", 3),
    ("DCR ratio", "dcr_ratio", 3),
    ("fit s", "fit_seconds", 1),
)
PANELS = (("TSTR/TRTR (1 best)", "utility_ratio"), ("membership-inference AUC", "mia_auc"))
LEGEND = (
    "Attack risks are the evaluation suite's (Giomi et al. 2023 style): the attack's "
    "success on training rows beyond its success on holdout rows, 0 is no measurable "
    "risk; MIA AUC is the DOMIAS-style membership attack, 0.5 means no leakage. "
    "Non-DP methods have no ε (—). Values are mean ± sd over the repeats that finished."
)


def has_tradeoff(result: BenchmarkResult) -> bool:
    """Whether any DP run with a budget is in the result."""
    return any(s.epsilon is not None for s in result.summaries)


def _sorted(summaries: list[Summary]) -> list[Summary]:
    # DP methods by name then ε, non-DP ones after them
    return sorted(summaries, key=lambda s: (s.epsilon is None, s.method, s.epsilon or math.inf))


def markdown(result: BenchmarkResult) -> str:
    """``## Privacy-utility trade-off`` with a table per dataset."""
    parts = ["## Privacy-utility trade-off", "", LEGEND]
    for dataset in result.settings["datasets"]:
        rows = _sorted([s for s in result.summaries if s.dataset == dataset])
        if not rows:
            continue
        headers = ["method", "ε", "runs", *(h for h, _, _ in COLUMNS)]
        lines = [
            "",
            f"### {dataset}",
            "",
            "| " + " | ".join(headers) + " |",
            "|" + "---|" * len(headers),
        ]
        for s in rows:
            eps = "—" if s.epsilon is None else f"{s.epsilon:g}"
            name = s.method if s.source == "healthforge" else f"*{s.method}*"
            runs = str(s.runs) if s.ok == s.runs else f"{s.ok}/{s.runs}"
            if s.ok == 0:
                cells = [s.status] + [""] * (len(COLUMNS) - 1)
            else:
                cells = [fmt_stat(s.stats[f], d) for _, f, d in COLUMNS]
            lines.append("| " + " | ".join([name, eps, runs, *cells]) + " |")
        parts.append("\n".join(lines))
    return "\n".join(parts) + "\n"


def figure_html(result: BenchmarkResult) -> str:
    """Plotly ``<div>`` (no plotly.js): a row per dataset, utility and MIA AUC vs ε."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    datasets = [d for d in result.settings["datasets"] if _dp(result, d)]
    titles = [f"{d}: {title}" for d in datasets for title, _ in PANELS]
    figure = make_subplots(rows=len(datasets), cols=len(PANELS), subplot_titles=titles)
    epsilons = sorted({s.epsilon for s in result.summaries if s.epsilon is not None})
    methods = list(dict.fromkeys(s.method for s in result.summaries))
    for row, dataset in enumerate(datasets, start=1):
        for col, (_, field) in enumerate(PANELS, start=1):
            for i, method in enumerate(methods):
                runs = [
                    s
                    for s in result.summaries
                    if s.dataset == dataset and s.method == method and s.ok
                ]
                trace = _trace(runs, field, epsilons, method, colour(i), row == col == 1)
                if trace is not None:
                    figure.add_trace(go.Scatter(**trace), row=row, col=col)
            figure.update_xaxes(type="log", title_text="ε", row=row, col=col)
    figure.update_layout(
        height=340 * max(len(datasets), 1),
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 60, "b": 40},
    )
    return str(figure.to_html(full_html=False, include_plotlyjs=False))


def _dp(result: BenchmarkResult, dataset: str) -> bool:
    return any(s.dataset == dataset and s.epsilon is not None for s in result.summaries)


def _trace(
    runs: list[Summary],
    field: str,
    epsilons: list[float],
    method: str,
    colour: str,
    legend: bool,
) -> dict[str, Any] | None:
    dp = sorted((s for s in runs if s.epsilon is not None), key=lambda s: s.epsilon or 0.0)
    if dp:
        xs = [s.epsilon for s in dp]
        ys = [s.stats[field].mean for s in dp]
        errs = [s.stats[field].sd or 0.0 for s in dp]
        line: dict[str, Any] = {"color": colour}
    else:
        plain = [s for s in runs if s.epsilon is None]
        if not plain or plain[0].stats[field].mean is None or not epsilons:
            return None
        xs = [epsilons[0], epsilons[-1]]  # no ε: a reference line across the sweep
        ys = [plain[0].stats[field].mean] * 2
        errs = [0.0, 0.0]
        line = {"color": colour, "dash": "dash"}
    return {
        "x": xs,
        "y": ys,
        "name": method + ("" if dp else " (no DP)"),
        "legendgroup": method,
        "showlegend": legend,
        "mode": "lines+markers",
        "line": line,
        "error_y": {"type": "data", "array": errs, "visible": True},
    }
