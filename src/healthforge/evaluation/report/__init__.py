"""One self-contained HTML report of an evaluation, readable offline by a person.

The file inlines plotly.js exactly once and loads nothing from the network (no CDN, no
web fonts), so it can be mailed or archived next to the data it describes. Plots are
built from pre-binned counts rather than raw values: the file stays a few MB whatever
the size of the data, and no real row is copied into the report.

The package: :mod:`.text` (limits, colours, metric help and formatting), :mod:`.page`
(the HTML shell), :mod:`.sections` (HTML sections), :mod:`.frames` (what the plots
draw, computed from the data), :mod:`.plots` (plotly figures); this module assembles
them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from healthforge.errors import HealthForgeError
from healthforge.evaluation.report.frames import (
    _choose_columns,
    _column_kinds,
    _column_similarities,
    _dcr_arrays,
    _dependence_matrices,
)
from healthforge.evaluation.report.page import _page
from healthforge.evaluation.report.plots import (
    _correlation_figure,
    _dcr_figure,
    _fairness_figure,
    _marginals_figure,
    _utility_figure,
)
from healthforge.evaluation.report.sections import (
    _dp_section,
    _figure_section,
    _header,
    _plain_section,
    _scores_table,
    _settings_section,
    _skipped,
    _verdict,
    _worst_gap_table,
)
from healthforge.evaluation.report.text import (
    MAX_PLOTTED_COLUMNS,
    STATUS_COLOURS,
    _e,
    _fmt,
    metric_help,
    metric_label,
    pretty_threshold,
)


def write_report(
    result: Any,
    path: str | Path,
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    title: str | None = None,
) -> Path:
    """Write the HTML report of ``result`` (an :class:`EvaluationResult`) to ``path``.

    ``real``/``synthetic``/``holdout`` are the frames that were evaluated; they feed the
    distribution plots. The file is written atomically.
    """
    from healthforge.data.io import atomic_write_text

    path = Path(path)
    if not path.parent.exists():
        raise HealthForgeError(f"folder '{path.parent}' does not exist", "create it first")
    text = render_report(result, real, synthetic, holdout=holdout, title=title)
    atomic_write_text(path, text)
    return path


def render_report(
    result: Any,
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    title: str | None = None,
) -> str:
    """The report as one HTML string (see :func:`write_report`)."""
    summary: Mapping[str, Any] = result.summary
    details: Mapping[str, Any] = getattr(result, "details", None) or {}
    settings = summary.get("settings") or {}
    title = title or "HealthForge evaluation report"

    body: list[str] = [
        _header(title, summary),
        _verdict(summary),
        _scores_table(summary.get("scores") or []),
        _skipped(summary.get("skipped") or [], settings),
    ]
    figures: list[str] = []

    kinds = _column_kinds(real, details)
    columns, note = _choose_columns(real, synthetic, summary, kinds)
    similarities = _column_similarities(summary)
    if columns:
        fig = _marginals_figure(real, synthetic, columns, kinds, similarities)
        figures.append(_figure_section("Column distributions", "marginals", fig, note, legend=True))
    heat = _dependence_matrices(details, real, synthetic, columns, kinds)
    if heat is not None:
        corr_real, corr_synth, heat_note, help_key = heat
        figures.append(
            _figure_section(
                "Relationships between columns",
                help_key,
                _correlation_figure(corr_real, corr_synth),
                heat_note,
                div_key="correlation",
            )
        )
    fig = _utility_figure(summary.get("utility"))
    if fig is not None:
        figures.append(_figure_section("Models trained on real vs synthetic", "utility", fig))
    dcr = _dcr_arrays(details)
    if dcr is not None:
        dcr_note = (
            "No holdout: there is no curve of unseen real people to compare with, so these "
            "distances alone cannot say whether the generator copies. Watch for a spike at 0."
            if dcr[1] is None or dcr[1].size == 0
            else ""
        )
        figures.append(
            _figure_section("Distance to closest record", "dcr", _dcr_figure(*dcr), dcr_note)
        )
    elif settings.get("holdout_given") or holdout is not None:
        figures.append(_plain_section("Distance to closest record", "no distances to plot."))
    fairness = summary.get("fairness")
    if fairness:
        fig = _fairness_figure(fairness)
        if fig is not None:
            figures.append(
                _figure_section(
                    f"Subgroups by '{fairness.get('by', '')}'",
                    "fairness",
                    fig,
                    extra=_worst_gap_table(fairness.get("worst_gap") or {}),
                )
            )
    body.extend(figures)
    budget = (summary.get("privacy") or {}).get("dp_budget")
    if budget:
        body.append(_dp_section(budget))
    body.append(_settings_section(summary, real, synthetic, holdout))
    return _page(title, "\n".join(body))


__all__ = [
    "MAX_PLOTTED_COLUMNS",
    "STATUS_COLOURS",
    "_e",
    "_fmt",
    "_page",
    "metric_help",
    "metric_label",
    "pretty_threshold",
    "render_report",
    "write_report",
]
