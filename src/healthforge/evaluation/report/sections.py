"""HTML sections of the report: header, verdict, scores, skips, settings, figure frames."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from healthforge.evaluation.report.text import (
    PLOT_HELP,
    PLOTLY_CONFIG,
    REAL_COLOUR,
    SECTION_TITLES,
    SECTIONS,
    STATUS_COLOURS,
    SYNTHETIC_COLOUR,
    _count,
    _e,
    _fmt,
    metric_help,
    metric_label,
    pretty_threshold,
)


def _header(title: str, summary: Mapping[str, Any]) -> str:
    settings = summary.get("settings") or {}
    parts = [
        f"{_count(summary.get('rows_real'))} real training rows",
        f"{_count(summary.get('rows_synthetic'))} synthetic rows",
    ]
    if summary.get("rows_holdout") is not None:
        parts.append(f"{_count(summary.get('rows_holdout'))} real holdout rows")
    else:
        parts.append("no holdout")
    if settings.get("target"):
        parts.append(f"target '{settings['target']}' ({settings.get('task') or 'task inferred'})")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"<header><h1>{_e(title)}</h1><p class='sub'>{_e(' · '.join(parts))}</p>"
        f"<p class='sub'>Generated {stamp} by HealthForge "
        f"{_e(summary.get('healthforge_version', ''))}</p></header>"
    )


def _verdict(summary: Mapping[str, Any]) -> str:
    scores = summary.get("scores") or []
    counts = {s: sum(1 for r in scores if r.get("status") == s) for s in STATUS_COLOURS}
    skipped = len(summary.get("skipped") or [])
    spans = "".join(
        f"<span><b style='color:{STATUS_COLOURS[s]}'>{counts[s]}</b> {s}</span>"
        for s in STATUS_COLOURS
    )
    spans += f"<span><b style='color:#718096'>{skipped}</b> skipped</span>"
    if counts["fail"]:
        line = "Some measurements fail their threshold - read the red rows before using this data."
    elif counts["warn"]:
        line = "No measurement fails, but some deserve a look (amber rows)."
    elif scores:
        line = "Every scored measurement passes its threshold."
    else:
        line = "No measurement could be scored."
    return (
        "<section><h2>At a glance</h2>"
        f"<p class='counts'>{spans}</p><p class='help'>{_e(line)} Thresholds are rules of "
        "thumb, not guarantees: they flag what to look at.</p></section>"
    )


def _interval(row: Mapping[str, Any]) -> str:
    """The 95% interval under a value that has one, e.g. ``95% CI 0.49-0.76``."""
    ci = row.get("interval")
    if not ci:
        return ""
    return f"<br><span class='help'>95% CI {_e(_fmt(ci[0]))}-{_e(_fmt(ci[1]))}</span>"


def _scores_table(scores: Sequence[Mapping[str, Any]]) -> str:
    if not scores:
        return _plain_section("Scores", "no metric could be scored.")
    rows_by_section: dict[str, list[str]] = {}
    for row in scores:
        metric = str(row.get("metric", ""))
        section = metric.split(".", 1)[0]
        status = row.get("status")
        badge_class = status if status in STATUS_COLOURS else "none"
        direction = {True: "higher is better", False: "lower is better"}.get(
            row.get("higher_is_better"), ""
        )
        rows_by_section.setdefault(section, []).append(
            "<tr>"
            f"<td><b>{_e(metric_label(metric))}</b><br><span class='key'>{_e(metric)}</span></td>"
            f"<td class='num'>{_e(_fmt(row.get('value')))}{_interval(row)}</td>"
            f"<td><span class='badge {badge_class}'>{_e(status or 'n/a')}</span>"
            + (f"<br><b>{_e(row['verdict'])}</b>" if row.get("verdict") else "")
            + "</td>"
            f"<td>{_e(pretty_threshold(row.get('threshold')))}"
            + (f"; {_e(row['lower_threshold'])}" if row.get("lower_threshold") else "")
            + "<br>"
            f"<span class='help'>{_e(direction)}</span></td>"
            f"<td class='help'>{_e(metric_help(metric))}</td>"
            "</tr>"
        )
    order = [s for s in SECTIONS if s in rows_by_section]
    order += [s for s in rows_by_section if s not in SECTIONS]
    parts = ["<section id='scores'><h2>Scores</h2>"]
    head = (
        "<tr><th style='width:24%'>Metric</th><th style='width:8%'>Value</th>"
        "<th style='width:8%'>Status</th><th style='width:19%'>Threshold</th>"
        "<th>What it means</th></tr>"
    )
    for section in order:
        parts.append(f"<h3>{_e(SECTION_TITLES.get(section, section.title()))}</h3>")
        parts.append(f"<table class='scores'>{head}{''.join(rows_by_section[section])}</table>")
    parts.append("</section>")
    return "".join(parts)


def _skipped(skipped: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> str:
    if not skipped:
        return ""
    rows = "".join(
        f"<tr><td class='key'>{_e(s.get('metric', ''))}</td><td>{_e(s.get('reason', ''))}</td></tr>"
        for s in skipped
    )
    note = ""
    if not settings.get("holdout_given", True):
        note = (
            "<p class='note'>No holdout was given. Privacy and utility can only be measured "
            "against real rows the generator never saw: pass a holdout "
            "(<code>--holdout</code>) to measure them.</p>"
        )
    return (
        "<section id='skipped'><h2>Not measured</h2><p class='help'>These metrics could not "
        f"run on this data; nothing was dropped silently.</p>{note}"
        f"<table><tr><th>Metric</th><th>Reason</th></tr>{rows}</table></section>"
    )


def _settings_section(
    summary: Mapping[str, Any],
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
) -> str:
    settings = dict(summary.get("settings") or {})
    versions = dict(summary.get("versions") or {})
    versions.setdefault("healthforge", summary.get("healthforge_version"))
    shapes = {
        "real": f"{len(real):,} rows × {real.shape[1]} columns",
        "synthetic": f"{len(synthetic):,} rows × {synthetic.shape[1]} columns",
        "holdout": "none"
        if holdout is None
        else f"{len(holdout):,} rows × {holdout.shape[1]} columns",
    }

    def table(items: Mapping[str, Any]) -> str:
        rows = "".join(
            f"<tr><td class='key'>{_e(k)}</td><td>{_e(_fmt(v))}</td></tr>" for k, v in items.items()
        )
        return f"<table>{rows}</table>"

    k_anon = ((summary.get("privacy") or {}).get("k_anonymity") or {}).get("quasi_identifiers")
    extra = (
        f"<h3>Quasi-identifiers used for k-anonymity</h3><p>{_e(', '.join(map(str, k_anon)))}</p>"
        if k_anon
        else ""
    )
    return (
        "<section id='settings'><h2>Settings and versions</h2>"
        "<div class='grid'>"
        f"<div><h3>Settings</h3>{table(settings)}</div>"
        f"<div><h3>Data</h3>{table(shapes)}</div>"
        f"<div><h3>Versions</h3>{table(versions)}</div>"
        f"</div>{extra}</section>"
    )


def _figure_section(
    heading: str,
    key: str,
    fig: Any,
    note: str = "",
    extra: str = "",
    legend: bool = False,
    div_key: str | None = None,
) -> str:
    """A titled section: one-line help (PLOT_HELP[key]), an optional note, the figure."""
    div_key = div_key or key
    height = int(fig.layout.height or 450)
    div = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"hf-{div_key}",
        default_height=f"{height}px",
        config=PLOTLY_CONFIG,
    )
    note_html = f"<p class='note'>{_e(note)}</p>" if note else ""
    return (
        f"<section id='{div_key}'><h2>{_e(heading)}</h2><p class='help'>{_e(PLOT_HELP[key])}</p>"
        f"{note_html}{_LEGEND if legend else ''}<div class='plot'>{div}</div>{extra}</section>"
    )


_LEGEND = (
    f"<p class='legend'><span style='background:{REAL_COLOUR}'></span>real"
    f"<span style='background:{SYNTHETIC_COLOUR}'></span>synthetic</p>"
)


def _dp_section(budget: Mapping[str, Any]) -> str:
    """The differential-privacy guarantee the generator recorded, in plain words."""
    split = budget.get("split") or {}
    parts = "".join(
        f"<tr><td>{_e(str(k))}</td><td>{_e(json.dumps(v, default=str))}</td></tr>"
        for k, v in split.items()
    )
    text = (
        f"The generator is differentially private: {_e(str(budget.get('mechanism')))} with "
        f"ε = {float(budget.get('epsilon', 0)):g} and δ = {float(budget.get('delta', 0)):.2g} "
        f"({_e(str(budget.get('accountant')))}). Sampling more rows from the fitted model "
        "spends no further budget (post-processing): the guarantee above covers any number "
        "of synthetic rows. A privacy filter or evaluation that reads the real data is not "
        "covered by it."
    )
    return (
        f"<section><h2>Differential privacy budget</h2><p class='help'>{text}</p>"
        f"<table><tr><th>how the budget was split</th><th>value</th></tr>{parts}</table>"
        "</section>"
    )


def _plain_section(heading: str, text: str) -> str:
    return f"<section><h2>{_e(heading)}</h2><p class='help'>{_e(text.capitalize())}</p></section>"


def _worst_gap_table(gaps: Mapping[str, Any]) -> str:
    if not gaps:
        return ""
    rows = "".join(
        f"<tr><td>{_e(metric_label(k))}</td><td class='num'>{_e(_fmt(v))}</td></tr>"
        for k, v in gaps.items()
    )
    return (
        "<h3>Largest gap between subgroups</h3>"
        f"<table class='narrow'><tr><th>Metric</th><th>Worst gap</th></tr>{rows}</table>"
    )
