"""The augmentation experiment's report: the Markdown table, the figure and the HTML page.

Reads an :class:`~healthforge.augment.experiment.AugmentResult`; computes nothing new.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from healthforge.augment.experiment import SYNTHETIC_FLAG, AugmentResult
from healthforge.augment.statistics import ARM_LABELS, ARMS, OVERALL


def markdown_table(result: AugmentResult, digits: int = 3) -> str:
    """The per-group AUROC table (mean [95% CI]) as Markdown, one row per model x group."""
    table = result.table
    groups = list(dict.fromkeys([OVERALL, *sorted(set(table["group"]) - {OVERALL})]))
    header = "| model | group | " + " | ".join(ARM_LABELS[a] for a in ARMS) + " | (b)-(a) |"
    lines = [header, "|" + "---|" * (ARMS.__len__() + 3)]
    diffs = result.differences
    for model in result.settings["models"]:
        for group in groups:
            cells = []
            for arm in ARMS:
                row = table[
                    (table["model"] == model) & (table["arm"] == arm) & (table["group"] == group)
                ]
                cells.append(_cell(row, digits))
            d = diffs[
                (diffs["model"] == model)
                & (diffs["group"] == group)
                & diffs["comparison"].str.startswith("(b)")
            ]
            verdict = len(d) and np.isfinite(d.iloc[0]["mean"])
            diff = _cell(d, digits, signed=True) + (f" {d.iloc[0]['verdict']}" if verdict else "")
            label = group if group == OVERALL else f"{result.settings['balance']}={group}"
            lines.append(f"| {model} | {label} | " + " | ".join(cells) + f" | {diff} |")
    return "\n".join(lines)


def _cell(row: pd.DataFrame, digits: int, signed: bool = False) -> str:
    if row.empty:
        return "n/a"
    r = row.iloc[0]
    if not np.isfinite(r["mean"]):
        return "not scored"
    fmt = f"{{:+.{digits}f}}" if signed else f"{{:.{digits}f}}"
    if not np.isfinite(r["low"]):
        return f"{fmt.format(r['mean'])} (n = 1, no interval)"
    if r["low"] == r["high"]:  # explained in the notes under the table
        return f"{fmt.format(r['mean'])} (same in all {int(r['n'])})"
    return f"{fmt.format(r['mean'])} [{fmt.format(r['low'])}, {fmt.format(r['high'])}]"


def interval_notes(result: AugmentResult) -> list[str]:
    """One line per table cell whose interval is missing or of zero width, saying why."""
    balance = result.settings["balance"]
    out = []
    for frame, what in ((result.table, "arm"), (result.differences, "comparison")):
        if "interval_note" not in frame:
            continue
        for _, r in frame[frame["interval_note"] != ""].iterrows():
            where = r["group"] if r["group"] == OVERALL else f"{balance}={r['group']}"
            label = ARM_LABELS.get(r[what], r[what])
            out.append(f"{r['model']} {where} {label}: {r['interval_note']}.")
    return out


def augmentation_figure(result: AugmentResult) -> Any:
    """Plotly figure: holdout AUROC (mean, 95% CI) per group, one panel per model."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    models = result.settings["models"]
    fig = make_subplots(rows=1, cols=len(models), subplot_titles=models, shared_yaxes=True)
    colours = {"real": "#1f5f99", "augmented": "#5a9e6f", "synthetic": "#e07b39"}
    table = result.table
    groups = list(dict.fromkeys([OVERALL, *sorted(set(table["group"]) - {OVERALL})]))
    for col, model in enumerate(models, start=1):
        for arm in ARMS:
            part = table[(table["model"] == model) & (table["arm"] == arm)].set_index("group")
            part = part.reindex(groups)
            fig.add_trace(
                go.Bar(
                    x=[g if g == OVERALL else f"{result.settings['balance']}={g}" for g in groups],
                    y=part["mean"],
                    error_y={
                        "type": "data",
                        "array": (part["high"] - part["mean"]).fillna(0),
                        "arrayminus": (part["mean"] - part["low"]).fillna(0),
                    },
                    name=ARM_LABELS[arm],
                    marker_color=colours[arm],
                    showlegend=col == 1,
                    legendgroup=arm,
                ),
                row=1,
                col=col,
            )
    low = np.nanmin(table["low"].to_numpy(dtype=float)) if len(table) else 0.5
    fig.update_yaxes(range=[max(0.0, min(0.5, low - 0.05)), 1.0], title_text="AUROC", col=1)
    fig.update_layout(barmode="group", height=460, margin={"t": 60, "b": 40})
    return fig


def render_augment_report(result: AugmentResult, title: str | None = None) -> str:
    """The experiment as one offline HTML page (plotly inlined once, no network)."""
    import html

    from healthforge.evaluation.report import _page  # the shared offline page and style

    s = result.settings
    title = title or f"Augmentation experiment: {s['balance']} ({s['generator']})"
    fig = augmentation_figure(result)
    div = fig.to_html(full_html=False, include_plotlyjs=False, div_id="hf-augmentation")
    table_html = _html_table(result) + "".join(
        f"<p class='note'>{html.escape(n)}</p>" for n in interval_notes(result)
    )
    added = ", ".join(f"{s['balance']}={g}: +{k:,}" for g, k in result.added.items())
    notes = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in result.notes)
    body = (
        f"<section><h1>{html.escape(title)}</h1><p class='sub'>{s['rows_real']:,} real rows; "
        f"target {html.escape(s['target'])}; generator {html.escape(s['generator'])}"
        + (f" per {html.escape(s['fair_by'])}" if s.get("fair_by") else "")
        + f"; strategy {html.escape(s['strategy'])}; {s['repeats']} seeded splits, "
        f"{int(s['holdout_fraction'] * 100)}% real holdout each.</p></section>"
        f"<section><h2>Conclusion</h2><p>{html.escape(result.conclusion)}</p>{notes}</section>"
        "<section><h2>Holdout AUROC per group</h2><p class='help'>Models trained on (a) the "
        "real training rows, (b) the same plus synthetic rows for the smaller groups, (c) "
        "synthetic rows only, scored on real holdout rows. Bars: mean over repeats; whiskers: "
        "95% confidence interval (t-interval over repeats, cut to the possible range). A "
        "group without an AUROC in a repeat (no holdout rows, or one outcome class only) is "
        "'not scored' there. Augmentation helps a group only if (b)-(a) is above zero "
        f"with its whole interval.</p><div class='plot'>{div}</div>{table_html}</section>"
        f"<section><h2>The augmented dataset</h2><p>All real rows plus synthetic rows "
        f"({html.escape(added)}), flagged by the column <code>{SYNTHETIC_FLAG}</code>; the "
        "generator for it was fitted on all real rows.</p></section>"
    )
    return _page(title, body)


def _html_table(result: AugmentResult) -> str:
    import html

    lines = markdown_table(result).splitlines()
    header = [h.strip() for h in lines[0].strip("|").split("|")]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_augment_report(result: AugmentResult, path: Any, title: str | None = None) -> None:
    """Write :func:`render_augment_report` atomically."""
    from healthforge.data.io import atomic_write_text

    atomic_write_text(path, render_augment_report(result, title))
