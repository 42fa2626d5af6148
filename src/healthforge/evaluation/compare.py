"""Compare several synthetic datasets (or generators) evaluated against the same real data.

:func:`compare` turns evaluation results into a leaderboard: one row per synthetic
dataset, headline metrics as columns, a rank per metric and a mean rank. Rankings hide
trade-offs, so the leaderboard carries a note saying when no single entry is best on
every metric - which is the usual case between privacy and fidelity.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from healthforge.errors import HealthForgeError
from healthforge.evaluation.report import (
    STATUS_COLOURS,
    _e,
    _fmt,
    _page,
    metric_help,
    metric_label,
)

# Headline metrics and whether higher is better, used when a result's scores do not say.
HEADLINE_METRICS: dict[str, bool] = {
    "fidelity.column_similarity": True,
    "fidelity.pair_similarity": True,
    "fidelity.detection_auc": False,
    "utility.ratio": True,
    "privacy.dcr_ratio": True,
    "privacy.mia_auc": False,
    "privacy.exact_match_rate": False,
}
# AUCs of a classifier or an attacker: 0.5 is chance and below it is noise, not "better",
# so ranks treat every value at or below 0.5 as 0.5.
CHANCE_FLOOR = {"fidelity.detection_auc": 0.5, "privacy.mia_auc": 0.5}
RANK_SUFFIX = ".rank"
_PALETTE = ("#1f5f99", "#e07b39", "#5a9e6f", "#805ad5", "#c53030", "#b7791f", "#2c7a7b", "#6b7280")


def compare(results: Mapping[str, Any]) -> pd.DataFrame:
    """A leaderboard of ``results`` (name -> :class:`EvaluationResult`), best first.

    Columns: each headline metric's value, ``<metric>.rank`` (1 = best, ties share the
    better rank, missing values are unranked, AUCs at or below chance tie), ``mean_rank``
    and the counts of
    pass/warn/fail scores. ``leaderboard.attrs["note"]`` says whether one entry leads
    everywhere; ``attrs["higher_is_better"]`` maps each metric to its direction.
    """
    if not results:
        raise HealthForgeError("nothing to compare", "give at least one synthetic dataset")
    summaries = {str(name): _summary(result) for name, result in results.items()}
    directions = dict(HEADLINE_METRICS)
    for summary in summaries.values():
        for score in summary.get("scores") or []:
            metric = score.get("metric")
            if metric in directions and isinstance(score.get("higher_is_better"), bool):
                directions[metric] = score["higher_is_better"]

    rows = {}
    for name, summary in summaries.items():
        row: dict[str, Any] = {m: _metric_value(summary, m) for m in directions}
        for status in STATUS_COLOURS:
            row[status] = sum(1 for s in summary.get("scores") or [] if s.get("status") == status)
        rows[name] = row
    board = pd.DataFrame.from_dict(rows, orient="index")
    metrics = [m for m in directions if board[m].notna().any()]
    board = board[metrics + list(STATUS_COLOURS)].astype({m: float for m in metrics})
    for metric in metrics:
        values = board[metric]
        if metric in CHANCE_FLOOR:
            values = values.clip(lower=CHANCE_FLOOR[metric])
        board[metric + RANK_SUFFIX] = values.rank(ascending=not directions[metric], method="min")
    ranks = board[[m + RANK_SUFFIX for m in metrics]]
    board["mean_rank"] = ranks.mean(axis=1, skipna=True)
    board = board.sort_values(["mean_rank", "fail"], kind="stable")
    board.index.name = "synthetic"
    board.attrs["higher_is_better"] = {m: directions[m] for m in metrics}
    board.attrs["note"] = leaderboard_note(board)
    return board


def leaderboard_note(board: pd.DataFrame) -> str:
    """One sentence on who leads where: trade-offs are the finding, not a footnote."""
    metrics = _metrics(board)
    if len(board) < 2 or not metrics:
        return ""
    # Metrics on which every entry ties say nothing about who leads.
    metrics = [m for m in metrics if board[m].nunique(dropna=True) > 1]
    if not metrics:
        return "All synthetic datasets tie on every headline metric."
    leaders: dict[str, list[str]] = {}
    for metric in metrics:
        ranks = board[metric + RANK_SUFFIX]
        for name in ranks.index[ranks == 1]:
            leaders.setdefault(str(name), []).append(metric_label(metric))
    everywhere = [n for n, won in leaders.items() if len(won) == len(metrics)]
    if everywhere:
        return f"{everywhere[0]} is best on every headline metric that separates them."
    parts = [f"{name} on {', '.join(won)}" for name, won in leaders.items()]
    return "No single synthetic dataset is best on every metric; best: " + "; ".join(parts) + "."


def comparison_to_dict(board: pd.DataFrame, results: Mapping[str, Any]) -> dict[str, Any]:
    """The leaderboard and every summary as one JSON-serialisable dict."""
    metrics = _metrics(board)
    directions = board.attrs.get("higher_is_better") or {}
    entries = []
    for name, row in board.iterrows():
        entry: dict[str, Any] = {"name": str(name)}
        entry["values"] = {m: _json_number(row[m]) for m in metrics}
        entry["ranks"] = {m: _json_number(row[m + RANK_SUFFIX]) for m in metrics}
        entry["mean_rank"] = _json_number(row["mean_rank"])
        entry.update({s: int(row[s]) for s in STATUS_COLOURS if s in row})
        entries.append(entry)
    return {
        "metrics": [
            {"metric": m, "higher_is_better": directions.get(m, HEADLINE_METRICS.get(m))}
            for m in metrics
        ],
        "note": board.attrs.get("note") or leaderboard_note(board),
        "leaderboard": entries,
        "results": {str(name): _summary(r) for name, r in results.items()},
    }


def write_comparison_json(
    board: pd.DataFrame, results: Mapping[str, Any], path: str | Path
) -> Path:
    """Write :func:`comparison_to_dict` as JSON, atomically."""
    from healthforge.data.io import atomic_write_text

    path = Path(path)
    text = json.dumps(comparison_to_dict(board, results), indent=2, default=_json_default)
    atomic_write_text(path, text + "\n")
    return path


def write_comparison_report(
    board: pd.DataFrame,
    results: Mapping[str, Any],
    path: str | Path,
    title: str | None = None,
) -> Path:
    """Write the leaderboard as one self-contained HTML file (table and grouped bars)."""
    from healthforge.data.io import atomic_write_text

    path = Path(path)
    if not path.parent.exists():
        raise HealthForgeError(f"folder '{path.parent}' does not exist", "create it first")
    title = title or "HealthForge comparison"
    atomic_write_text(path, render_comparison(board, results, title))
    return path


def render_comparison(board: pd.DataFrame, results: Mapping[str, Any], title: str) -> str:
    """The comparison page as one HTML string."""
    metrics = _metrics(board)
    directions = board.attrs.get("higher_is_better") or {}
    note = board.attrs.get("note") or leaderboard_note(board)
    first = _summary(next(iter(results.values()))) if results else {}
    rows_real = first.get("rows_real")
    rows_holdout = first.get("rows_holdout")
    sub = f"{len(board)} synthetic datasets evaluated against the same real data"
    if isinstance(rows_real, int):
        sub += f" ({rows_real:,} training rows"
        sub += f", {rows_holdout:,} holdout rows)" if isinstance(rows_holdout, int) else ")"
    parts = [
        f"<header><h1>{_e(title)}</h1><p class='sub'>{_e(sub)}</p></header>",
        _leaderboard_table(board, metrics, directions, note),
    ]
    if metrics:
        parts.append(_bars_section(board, metrics, directions))
    parts.append(_skipped_section(results))
    return _page(title, "\n".join(parts))


# -- pieces ----------------------------------------------------------------------------


def _leaderboard_table(
    board: pd.DataFrame, metrics: list[str], directions: Mapping[str, bool], note: str
) -> str:
    head = "<th>Synthetic data</th><th>Mean rank</th>"
    for metric in metrics:
        arrow = "↑" if directions.get(metric, True) else "↓"
        head += (
            f"<th title='{_e(metric)}: {_e(metric_help(metric))}'>"
            f"{_e(metric_label(metric))} {arrow}</th>"
        )
    head += "".join(f"<th>{s}</th>" for s in STATUS_COLOURS)
    tied = {m for m in metrics if board[m].nunique(dropna=True) <= 1}
    body = ""
    for name, row in board.iterrows():
        cells = f"<td><b>{_e(name)}</b></td><td class='num'>{_e(_fmt(row['mean_rank']))}</td>"
        for metric in metrics:
            rank = row[metric + RANK_SUFFIX]
            # Shade a leader only where the metric separates the entries at all.
            separates = metric not in tied
            best = " style='background:#e6f4ea;font-weight:600'" if rank == 1 and separates else ""
            rank_text = "" if math.isnan(rank) else f" <sup>#{int(rank)}</sup>"
            cells += f"<td class='num'{best}>{_e(_fmt(row[metric]))}{rank_text}</td>"
        for status, colour in STATUS_COLOURS.items():
            count = int(row[status])
            style = f" style='color:{colour};font-weight:600'" if count else ""
            cells += f"<td class='num'{style}>{count}</td>"
        body += f"<tr>{cells}</tr>"
    explain = "".join(
        f"<li><b>{_e(metric_label(m))}</b> <span class='key'>{_e(m)}</span>: "
        f"{_e(metric_help(m))}</li>"
        for m in metrics
    )
    note_html = f"<p class='note'>{_e(note)}</p>" if note else ""
    return (
        "<section id='leaderboard'><h2>Leaderboard</h2>"
        "<p class='help'>Sorted by mean rank across the headline metrics (1 = best). The best "
        "value in each column is shaded; ↑ means higher is better, ↓ lower is better. "
        "pass/warn/fail count each dataset's scored metrics. AUCs at or below 0.5 rank as "
        "0.5: below chance is noise, not extra protection.</p>"
        f"{note_html}<div style='overflow-x:auto'><table><tr>{head}</tr>"
        f"{body}</table></div><h3>What the columns mean</h3><ul class='help'>{explain}</ul>"
        "</section>"
    )


def _bars_section(board: pd.DataFrame, metrics: list[str], directions: Mapping[str, bool]) -> str:
    import plotly.graph_objects as go

    labels = [f"{metric_label(m)} {'↑' if directions.get(m, True) else '↓'}" for m in metrics]
    fig = go.Figure()
    for i, (name, row) in enumerate(board.iterrows()):
        values = [None if pd.isna(row[m]) else float(row[m]) for m in metrics]
        fig.add_trace(
            go.Bar(
                x=labels,
                y=values,
                name=str(name),
                marker_color=_PALETTE[i % len(_PALETTE)],
                text=[_fmt(v) for v in values],
                textposition="outside",
                textfont_size=10,
                hovertemplate=f"{_e(name)}<br>%{{x}}: %{{y:.3f}}<extra></extra>",
            )
        )
    fig.update_layout(
        height=440,
        barmode="group",
        template="plotly_white",
        margin={"l": 50, "r": 20, "t": 30, "b": 80},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"},
        yaxis_title="value",
    )
    div = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id="hf-comparison",
        default_height="440px",
        config={"displaylogo": False, "responsive": True},
    )
    return (
        "<section id='bars'><h2>Headline metrics side by side</h2><p class='help'>Each group "
        "is one metric; each bar one synthetic dataset. Read each group with its arrow: for "
        f"↓ metrics the shortest bar is best.</p><div class='plot'>{div}</div></section>"
    )


def _skipped_section(results: Mapping[str, Any]) -> str:
    # The same reason for every dataset (e.g. no DP guarantee) is one row, not one per dataset.
    grouped: dict[tuple[str, str], list[str]] = {}
    for name, result in results.items():
        for entry in _summary(result).get("skipped") or []:
            key = (str(entry.get("metric", "")), str(entry.get("reason", "")))
            grouped.setdefault(key, []).append(str(name))
    if not grouped:
        return ""
    rows = "".join(
        f"<tr><td>{_e('all' if len(names) == len(results) else ', '.join(names))}</td>"
        f"<td class='key'>{_e(metric)}</td><td>{_e(reason)}</td></tr>"
        for (metric, reason), names in grouped.items()
    )
    return (
        "<section id='skipped'><h2>Not measured</h2>"
        "<table><tr><th>Synthetic data</th><th>Metric</th><th>Reason</th></tr>"
        f"{rows}</table></section>"
    )


# -- helpers ---------------------------------------------------------------------------


def _summary(result: Any) -> Mapping[str, Any]:
    summary = result.summary if hasattr(result, "summary") else result
    if not isinstance(summary, Mapping):
        raise HealthForgeError("cannot compare: a result has no summary")
    return summary


def _metric_value(summary: Mapping[str, Any], metric: str) -> float:
    for score in summary.get("scores") or []:
        if score.get("metric") == metric:
            return _as_float(score.get("value"))
    node: Any = summary
    for key in metric.split("."):
        if not isinstance(node, Mapping):
            return math.nan
        node = node.get(key)
    return _as_float(node)


def _metrics(board: pd.DataFrame) -> list[str]:
    return [c[: -len(RANK_SUFFIX)] for c in board.columns if str(c).endswith(RANK_SUFFIX)]


def _as_float(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out if math.isfinite(out) else math.nan


def _json_number(value: Any) -> float | None:
    out = _as_float(value)
    return None if math.isnan(out) else out


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return _json_number(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
