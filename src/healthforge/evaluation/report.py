"""One self-contained HTML report of an evaluation, readable offline by a person.

The file inlines plotly.js exactly once and loads nothing from the network (no CDN, no
web fonts), so it can be mailed or archived next to the data it describes. Plots are
built from pre-binned counts rather than raw values: the file stays a few MB whatever
the size of the data, and no real row is copied into the report.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from healthforge.errors import HealthForgeError

MAX_PLOTTED_COLUMNS = 30
MAX_HEATMAP_COLUMNS = 30
MAX_BINS = 40
MAX_CATEGORIES_SHOWN = 20
MAX_INTEGER_LEVELS = 40  # integers with at most this many values are drawn as bars
MAX_POINTS = 5_000  # upper bound on values behind any one plotted series

REAL_COLOUR = "#1f5f99"
SYNTHETIC_COLOUR = "#e07b39"
HOLDOUT_COLOUR = "#5a9e6f"
STATUS_COLOURS = {"pass": "#1e7b3c", "warn": "#b7791f", "fail": "#c53030"}
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

SECTIONS = ("fidelity", "utility", "privacy", "fairness")
SECTION_TITLES = {
    "fidelity": "Fidelity - does the synthetic data look like the real data?",
    "utility": "Utility - can models trained on it be used on real patients?",
    "privacy": "Privacy - does it protect the people in the real data?",
    "fairness": "Fairness - does it serve every subgroup alike?",
}

# One plain-language line per metric: what it measures and what good looks like.
METRIC_HELP: dict[str, str] = {
    "fidelity.column_similarity": (
        "How alike each column's distribution is in real and synthetic data (1 minus the KS "
        "or total-variation distance), averaged over columns. 1 is identical; higher is better."
    ),
    "fidelity.pair_similarity": (
        "How well relationships between pairs of columns (correlations, associations) are "
        "kept. 1 means every pairwise relationship is reproduced."
    ),
    "fidelity.pmse": (
        "Propensity mean squared error: how well a classifier separates real from synthetic "
        "rows. 0 means it cannot separate them at all; lower is better."
    ),
    "fidelity.detection_auc": (
        "AUC of a model trained to tell real rows from synthetic ones. 0.5 means it is "
        "guessing (good); 1.0 means every synthetic row is spotted."
    ),
    "fidelity.alpha_precision": (
        "Share of synthetic rows that look like typical real rows (fall inside the real "
        "data's support). Higher is better."
    ),
    "fidelity.beta_recall": (
        "Share of the real data's variety that the synthetic data covers - low values mean "
        "rare kinds of patients are missing. Higher is better."
    ),
    "fidelity.authenticity": (
        "Share of synthetic rows that are new records rather than near-copies of a real "
        "training row. Higher is better."
    ),
    "fidelity.validity.invalid_rate": (
        "Share of synthetic rows that break the schema (values out of range, unknown "
        "categories). 0 is best."
    ),
    "utility.trtr": (
        "Train on real, test on real: the model's score when trained on the real training "
        "data and tested on the holdout. The yardstick, not a target."
    ),
    "utility.tstr": (
        "Train on synthetic, test on real: the same model trained on synthetic data and "
        "tested on the real holdout. Close to TRTR is good."
    ),
    "utility.ratio": (
        "TSTR divided by TRTR: how much predictive value survives. 1.0 means synthetic data "
        "trains models as well as the real data does."
    ),
    "utility.importance_rank_agreement": (
        "Whether models trained on synthetic and on real data rely on the same features "
        "(rank correlation of feature importances). 1 is perfect agreement."
    ),
    "privacy.exact_match_rate": (
        "Share of synthetic rows that copy a real training row exactly. Should be about 0 - "
        "no higher than what chance produces for unseen real people."
    ),
    "privacy.dcr_ratio": (
        "Median distance from synthetic rows to their closest training row, divided by the "
        "same for real holdout rows. 1 or more means synthetic rows are no closer to "
        "training records than unseen people are."
    ),
    "privacy.dcr_share_below_holdout_p5": (
        "Share of synthetic rows closer to a training row than 95% of holdout rows are. "
        "About 0.05 is what chance gives; much more suggests memorisation."
    ),
    "privacy.nndr_ratio": (
        "Nearest-neighbour distance ratio compared with the holdout. Well below 1 means "
        "synthetic rows sit unusually close to single real records."
    ),
    "privacy.mia_auc": (
        "AUC of a membership-inference attack guessing whether a person was in the "
        "training data. 0.5 means the attacker is guessing (good)."
    ),
    "privacy.singling_out_risk": (
        "Risk that an attacker can single out one real person using the synthetic data "
        "(Giomi et al., 2023). 0 is best."
    ),
    "privacy.linkability_risk": (
        "Risk that an attacker can link two partial records of the same real person through "
        "the synthetic data. 0 is best."
    ),
    "privacy.inference_risk": (
        "Risk that an attacker can infer a secret attribute of a real person from the "
        "synthetic data. 0 is best."
    ),
    "privacy.k_anonymity": (
        "Size of the smallest group of rows sharing the same quasi-identifiers (age, sex, "
        "postcode...). Larger groups hide individuals better."
    ),
    "privacy.k_anonymity.k_min": (
        "Size of the smallest group of rows sharing the same quasi-identifiers. Larger is "
        "better; 1 means someone is unique."
    ),
    "privacy.k_anonymity.share_k_below_5": (
        "Share of rows in groups of fewer than 5 on the quasi-identifiers. Lower is better."
    ),
    "privacy.k_anonymity.excess_share_k_below_5": (
        "How many more synthetic rows than real rows sit in groups of fewer than 5 on the "
        "quasi-identifiers. With many quasi-identifiers most real people are unique too; 0 "
        "means the synthetic data is no more identifying than the real data."
    ),
    "privacy.dp_budget": (
        "Differential-privacy budget (epsilon) the generator spent. Smaller means a "
        "stronger mathematical guarantee."
    ),
    "fairness.worst_gap": (
        "Largest difference in this metric between subgroups. Small gaps mean the synthetic "
        "data is about as good for every group."
    ),
    "fairness": (
        "Per-subgroup comparison of the synthetic data's quality. Small gaps between groups "
        "are good."
    ),
}

PLOT_HELP = {
    "marginals": (
        "Each panel compares the share of rows at each value (bars for categories, binned "
        "counts for numbers) in the real and the synthetic data. Good synthetic data "
        "overlaps the real bars closely; the number in each title is the column similarity "
        "(1 = identical)."
    ),
    "correlation": (
        "Rank (Spearman) correlation between columns in the real data, the synthetic data, "
        "and the absolute difference between the two. Good synthetic data has a pale "
        "difference map: the same variables move together."
    ),
    "dependence": (
        "How strongly each pair of columns is related, in the real data, the synthetic data, "
        "and the absolute difference (the basis of pair similarity). Pairs of numbers use "
        "rank (Spearman) correlation, -1 to 1; pairs involving a category use Cramér's V or "
        "the correlation ratio, 0 to 1. Good synthetic data has a pale difference map."
    ),
    "dcr": (
        "Distance from each synthetic row to its closest real training row, next to the same "
        "distance for real holdout rows the generator never saw. If the synthetic curve sits "
        "to the left of the holdout curve - many very small distances - the generator is "
        "copying training records."
    ),
    "fairness": (
        "Quality of the synthetic data within each subgroup. Look for groups that are "
        "under-represented or where models trained on synthetic data do much worse."
    ),
    "utility": (
        "Score of each model trained on real data (TRTR) and on synthetic data (TSTR), both "
        "tested on the real holdout. Bars of similar height are good."
    ),
}

# Where the engine may keep plot data in ``result.details``; first match wins.
_DCR_SYNTHETIC_KEYS = ("synthetic_to_train", "synthetic", "dcr_synthetic", "synth")
_DCR_HOLDOUT_KEYS = ("holdout_to_train", "holdout", "dcr_holdout")


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


# -- page ------------------------------------------------------------------------------


def _page(title: str, body: str) -> str:
    from plotly.offline import get_plotlyjs

    # Plotly's bundle contains no "</script" sequence, so inlining it raw is safe.
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n"
        f"<script type='text/javascript'>{get_plotlyjs()}</script>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


_CSS = """
body{margin:0;background:#f6f7f9;color:#1a202c;
 font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
 font-size:15px;line-height:1.5}
main{max-width:1320px;margin:0 auto;padding:24px 32px 64px}
h1{font-size:26px;margin:8px 0 4px}h2{font-size:20px;margin:0 0 8px}
h3{font-size:16px;margin:18px 0 6px;color:#2d3748}
section{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:18px 22px;
 margin:18px 0}
.sub{color:#4a5568;margin:0}.help{color:#4a5568;font-size:14px;margin:4px 0 10px}
.note{color:#744210;background:#fffaf0;border-left:4px solid #dd6b20;padding:8px 12px;
 margin:10px 0;font-size:14px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #edf2f7;vertical-align:top}
th{background:#f7fafc;color:#4a5568;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.key,.key{color:#718096;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
.badge{display:inline-block;min-width:44px;text-align:center;border-radius:10px;
 padding:1px 8px;color:#fff;font-weight:600;font-size:12px;text-transform:uppercase}
.pass{background:#1e7b3c}.warn{background:#b7791f}.fail{background:#c53030}
.none{background:#a0aec0}
.counts span{margin-right:18px;font-size:16px}.counts b{font-size:22px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:8px 24px}
.grid div{font-size:14px}.grid b{display:block;font-size:18px}
.plot{width:100%}
.legend span{display:inline-block;width:12px;height:12px;border-radius:2px;margin:0 6px 0 14px;
 vertical-align:-1px}
table.narrow{width:auto;min-width:360px}
table.scores{table-layout:fixed}
"""


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
            f"<td class='num'>{_e(_fmt(row.get('value')))}</td>"
            f"<td><span class='badge {badge_class}'>{_e(status or 'n/a')}</span></td>"
            f"<td>{_e(pretty_threshold(row.get('threshold')))}<br>"
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


# -- choosing and describing columns ---------------------------------------------------


def _column_kinds(real: pd.DataFrame, details: Mapping[str, Any]) -> dict[str, str]:
    """How to draw each column: numeric, datetime, ordered, binary, nominal or skip."""
    schema = details.get("schema")
    if schema is None:
        try:
            from healthforge.data.infer import infer_schema

            schema = infer_schema(real)
        except HealthForgeError:
            schema = None  # odd columns: fall back on dtypes below
    kinds: dict[str, str] = {}
    for name in real.columns:
        column = schema[name] if schema is not None and name in schema else None
        kinds[name] = _kind_of(real[name], column)
    return kinds


def _kind_of(values: pd.Series, column: Any) -> str:
    if column is not None:
        if not column.modelled:
            return "skip"
        if column.kind == "datetime":
            return "datetime"
        if column.kind == "boolean" or (column.is_discrete and len(column.categories or []) <= 2):
            return "binary"
        if column.kind == "ordinal":
            return "ordered"
        if column.kind == "categorical":
            return "nominal"
        return "numeric"
    if pd.api.types.is_bool_dtype(values) or values.nunique(dropna=True) <= 2:
        return "binary"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "datetime"
    if pd.api.types.is_numeric_dtype(values):
        return "numeric"
    return "nominal"


def _column_similarities(summary: Mapping[str, Any]) -> dict[str, tuple[str, float | None]]:
    columns = (summary.get("fidelity") or {}).get("columns") or {}
    out: dict[str, tuple[str, float | None]] = {}
    for name, info in columns.items():
        if isinstance(info, Mapping):
            out[str(name)] = (str(info.get("metric", "")), _float(info.get("similarity")))
    return out


def _choose_columns(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    summary: Mapping[str, Any],
    kinds: Mapping[str, str],
) -> tuple[list[str], str]:
    """Columns to plot, at most MAX_PLOTTED_COLUMNS, and a note on what was left out.

    The target and the subgroup column come first because readers look for them; then,
    when there are too many, the least similar columns, where problems show.
    """
    candidates = [c for c in real.columns if c in synthetic.columns and kinds.get(c) != "skip"]
    not_plotted = [c for c in real.columns if kinds.get(c) == "skip"]
    missing = [c for c in real.columns if c not in synthetic.columns and kinds.get(c) != "skip"]
    settings = summary.get("settings") or {}
    first = [
        c
        for c in (settings.get("target"), settings.get("time_column"), settings.get("fairness_by"))
        if c in candidates
    ]
    first = list(dict.fromkeys(first))
    rest = [c for c in candidates if c not in first]
    notes = []
    if len(candidates) > MAX_PLOTTED_COLUMNS:
        sims = _column_similarities(summary)
        # Unknown similarity sorts last; ties keep the table's order (stable sort).
        rest.sort(key=lambda c: s if (s := sims.get(c, ("", None))[1]) is not None else math.inf)
        rest = rest[: MAX_PLOTTED_COLUMNS - len(first)]
        chosen = set(first) | set(rest)
        ordered = [c for c in candidates if c in chosen]
        notes.append(
            f"Showing {len(ordered)} of {len(candidates)} columns: the target/subgroup columns "
            "and those least similar between real and synthetic data, in table order."
        )
    else:
        ordered = candidates
    if not_plotted:
        notes.append(
            "Not plotted (identifiers or free text, never modelled): " + ", ".join(not_plotted)
        )
    if missing:
        notes.append("Missing from the synthetic data: " + ", ".join(missing))
    return ordered, " ".join(notes)


# -- figures ---------------------------------------------------------------------------


def _marginals_figure(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: Sequence[str],
    kinds: Mapping[str, str],
    similarities: Mapping[str, tuple[str, float | None]],
) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    ncols = 3
    nrows = math.ceil(len(columns) / ncols)
    panels = [_shares(real[c], synthetic[c], kinds.get(c, "nominal")) for c in columns]
    titles = []
    for name, panel in zip(columns, panels, strict=True):
        _, sim = similarities.get(name, ("", None))
        label = _shorten(name, 28) + (f" · similarity {sim:.2f}" if sim is not None else "")
        if panel.missing:
            label += f"<br><sup>{_e(panel.missing)}</sup>"
        titles.append(label)
    fig = make_subplots(
        rows=nrows,
        cols=ncols,
        subplot_titles=titles,
        horizontal_spacing=0.06,
        vertical_spacing=min(0.32 / max(nrows - 1, 1), 0.14),
    )
    for i, (name, panel) in enumerate(zip(columns, panels, strict=True)):
        row, col = divmod(i, ncols)
        for share, label, colour in (
            (panel.real, "real", REAL_COLOUR),
            (panel.synthetic, "synthetic", SYNTHETIC_COLOUR),
        ):
            fig.add_trace(
                go.Bar(
                    x=panel.labels,
                    y=share,
                    name=label,
                    showlegend=False,
                    marker_color=colour,
                    opacity=0.8,
                    hovertemplate=f"{_e(name)}=%{{x}}<br>{label}: %{{y:.1%}}<extra></extra>",
                ),
                row=row + 1,
                col=col + 1,
            )
        tickangle = -30 if panel.axis == "category" else None
        fig.update_xaxes(row=row + 1, col=col + 1, type=panel.axis, tickangle=tickangle)
    fig.update_layout(
        height=max(320, 260 * nrows),
        barmode="group",
        bargap=0.08,
        bargroupgap=0.0,
        margin={"l": 40, "r": 20, "t": 50, "b": 30},
        template="plotly_white",
    )
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_annotations(font_size=12)
    return fig


@dataclass
class _Panel:
    """What one marginal panel draws: bar labels, shares of rows, axis type, missingness."""

    labels: list[Any]
    real: np.ndarray
    synthetic: np.ndarray
    axis: str  # plotly axis type: "linear", "date" or "category"
    missing: str = ""


def _shares(real: pd.Series, synthetic: pd.Series, kind: str) -> _Panel:
    """Share of rows per bin (numbers, dates) or per level (everything else)."""
    if kind in {"numeric", "datetime"}:
        r = _to_number(real, kind)
        s = _to_number(synthetic, kind)
        both = np.concatenate([r[np.isfinite(r)], s[np.isfinite(s)]])
        distinct = np.unique(both[: MAX_POINTS * 4])
        few_integers = (
            kind == "numeric"
            and 0 < distinct.size <= MAX_INTEGER_LEVELS
            and bool(np.all(np.mod(distinct, 1) == 0))
        )
        if not few_integers:
            return _binned(r, s, kind)
    return _categorical_shares(real, synthetic)


def _to_number(values: pd.Series, kind: str) -> np.ndarray:
    """Numbers as floats, datetimes as float nanoseconds since the epoch; NaN if missing."""
    if kind == "datetime":
        stamps = pd.to_datetime(values, errors="coerce", format="mixed")
        out = stamps.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float)
        out[stamps.isna().to_numpy()] = np.nan
        return out
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def _bin_edges(values: np.ndarray) -> np.ndarray:
    """At most MAX_BINS equal bins over the central 99%, aligned to the data's resolution.

    Rounded data (ages in years, BMI to 0.1) binned on an arbitrary width gives bins that
    hold one or two distinct values in turn - a comb that looks like a generator defect.
    """
    low, high = np.quantile(values, [0.005, 0.995])
    if high <= low:
        low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.array([low - 0.5, low + 0.5])
    sample = np.unique(values[: MAX_POINTS * 4])
    gaps = np.diff(sample)
    step = float(gaps[gaps > 0].min()) if gaps.size and np.any(gaps > 0) else 0.0
    on_grid = step > 0 and np.allclose(np.round(gaps / step), gaps / step, atol=1e-6)
    if on_grid and (high - low) / step < 1e6:
        width = step * max(1, math.ceil((high - low) / step / MAX_BINS))
        start = low - step / 2
        n = max(1, math.ceil((high + step / 2 - start) / width))
        return start + width * np.arange(n + 1)
    return np.linspace(low, high, MAX_BINS + 1)


def _binned(r: np.ndarray, s: np.ndarray, kind: str) -> _Panel:
    finite_r, finite_s = r[np.isfinite(r)], s[np.isfinite(s)]
    both = np.concatenate([finite_r, finite_s])
    if both.size == 0:
        return _Panel(["(missing)"], np.ones(1), np.ones(1), "category")
    edges = _bin_edges(both)
    centres = (edges[:-1] + edges[1:]) / 2

    def share(x: np.ndarray) -> np.ndarray:
        # Values beyond the central 99% land in the end bins rather than vanish.
        counts, _ = np.histogram(np.clip(x, edges[0], edges[-1]), bins=edges)
        return counts / max(x.size, 1)

    labels: list[Any]
    if kind == "datetime":
        labels = [pd.Timestamp(int(c)).isoformat() for c in centres]
    else:
        labels = [float(f"{c:.6g}") for c in centres]
    miss_r, miss_s = float(np.mean(~np.isfinite(r))), float(np.mean(~np.isfinite(s)))
    missing = ""
    if miss_r > 0 or miss_s > 0:
        missing = f"missing: real {miss_r:.1%}, synthetic {miss_s:.1%}"
    axis = "date" if kind == "datetime" else "linear"
    return _Panel(labels, share(finite_r), share(finite_s), axis, missing)


def _categorical_shares(real: pd.Series, synthetic: pd.Series) -> _Panel:
    r, s = _levels(real), _levels(synthetic)
    r_counts = r.value_counts(dropna=True)
    s_counts = s.value_counts(dropna=True)
    try:  # numeric codes read best in numeric order
        order = sorted(r_counts.index, key=float)
        numeric_levels = True
    except (TypeError, ValueError):
        order = list(r_counts.index)
        numeric_levels = False
    if len(order) > MAX_CATEGORIES_SHOWN:
        order = list(r_counts.index[:MAX_CATEGORIES_SHOWN])
        if numeric_levels:
            order = sorted(order, key=float)
    extra = [v for v in s_counts.index if v not in r_counts.index]
    labels = [str(v) for v in order]
    real_share = np.array([r_counts.get(v, 0) for v in order], dtype=float)
    synth_share = np.array([s_counts.get(v, 0) for v in order], dtype=float)
    other_r = r_counts.sum() - real_share.sum()
    other_s = s_counts.sum() - synth_share.sum() - sum(s_counts[v] for v in extra)
    if other_r > 0 or other_s > 0:
        labels.append("(other)")
        real_share = np.append(real_share, other_r)
        synth_share = np.append(synth_share, other_s)
    if extra:
        # Values the real data never had are invalid: show them, they matter.
        labels.append("(not in real)")
        real_share = np.append(real_share, 0)
        synth_share = np.append(synth_share, sum(s_counts[v] for v in extra))
    miss_r, miss_s = int(r.isna().sum()), int(s.isna().sum())
    if miss_r or miss_s:
        labels.append("(missing)")
        real_share = np.append(real_share, miss_r)
        synth_share = np.append(synth_share, miss_s)
    return _Panel(labels, real_share / max(len(r), 1), synth_share / max(len(s), 1), "category")


def _levels(values: pd.Series) -> pd.Series:
    """Values as level strings; numbers spelt alike whatever their dtype (1, 1.0 -> "1")."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype(float)
        text = numbers.map(lambda v: f"{v:.10g}", na_action="ignore")
        return text.astype("string")
    return values.astype("string").str.strip()


def _encode_for_correlation(values: pd.Series, kind: str, reference: pd.Series) -> pd.Series:
    if kind in {"numeric", "datetime"}:
        return pd.Series(_to_number(values, kind), index=values.index)
    # Ordered and two-level columns: codes in the real data's level order carry meaning.
    ref = _levels(reference).dropna()
    try:
        levels = sorted(ref.unique(), key=float)
    except (TypeError, ValueError):
        levels = sorted(ref.unique())
    lookup = {v: i for i, v in enumerate(levels)}
    mapped = _levels(values).map(lookup)
    return pd.to_numeric(mapped, errors="coerce").astype(float)


def _correlation_matrix(
    frame: pd.DataFrame,
    reference: pd.DataFrame,
    columns: Sequence[str],
    kinds: Mapping[str, str],
) -> pd.DataFrame:
    if len(frame) > MAX_POINTS * 2:
        # Rank correlations are stable on a sample; this keeps big tables quick.
        frame = frame.sample(MAX_POINTS * 2, random_state=0)
    encoded = pd.DataFrame(
        {c: _encode_for_correlation(frame[c], kinds[c], reference[c]) for c in columns}
    )
    return encoded.corr(method="spearman", min_periods=10)


def _dependence_matrices(
    details: Mapping[str, Any],
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: Sequence[str],
    kinds: Mapping[str, str],
) -> tuple[pd.DataFrame, pd.DataFrame, str, str] | None:
    """Real and synthetic pair matrices over the plotted columns, a note and the help key.

    The engine's matrices are preferred: they are what pair similarity scored, and they
    cover categorical columns. Without them, rank correlation of the ordered columns.
    """
    corr = details.get("correlation")
    if isinstance(corr, Mapping) and corr.get("real") is not None:
        names = [str(c) for c in corr.get("columns") or []]
        keep = [c for c in columns if c in names][:MAX_HEATMAP_COLUMNS]
        if len(keep) >= 2:
            index = [names.index(c) for c in keep]
            frames = [
                pd.DataFrame(np.asarray(corr[k], dtype=float)[np.ix_(index, index)], keep, keep)
                for k in ("real", "synthetic")
            ]
            note = ""
            if np.isnan(frames[0].to_numpy()).any():
                note = "Wide table: blank cells are pairs the engine did not sample."
            return frames[0], frames[1], note, "dependence"
    heat_columns = [c for c in columns if kinds.get(c) in {"numeric", "ordered", "binary"}]
    heat_columns = heat_columns[:MAX_HEATMAP_COLUMNS]
    if len(heat_columns) < 2:
        return None
    left_out = [c for c in columns if c not in heat_columns]
    note = (
        f"Left out of the heat maps ({len(left_out)}): categorical columns with more than "
        "two unordered levels, whose codes have no order to correlate."
        if left_out
        else ""
    )
    return (
        _correlation_matrix(real, real, heat_columns, kinds),
        _correlation_matrix(synthetic, real, heat_columns, kinds),
        note,
        "correlation",
    )


def _correlation_figure(corr_real: pd.DataFrame, corr_synth: pd.DataFrame) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    columns = [str(c) for c in corr_real.columns]
    diff = (corr_real - corr_synth).abs()
    labels = [_shorten(c, 18) for c in columns]
    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=("real", "synthetic", "|real - synthetic|"),
        horizontal_spacing=0.07,
    )
    for i, (matrix, colourscale, zmin, zmax) in enumerate(
        (
            (corr_real, "RdBu", -1.0, 1.0),
            (corr_synth, "RdBu", -1.0, 1.0),
            (diff, "Reds", 0.0, 1.0),
        )
    ):
        values = np.round(matrix.to_numpy(dtype=float), 3)
        fig.add_trace(
            go.Heatmap(
                z=np.where(np.isfinite(values), values, None),
                x=labels,
                y=labels,
                zmin=zmin,
                zmax=zmax,
                colorscale=colourscale,
                reversescale=colourscale == "RdBu",
                showscale=i != 0,
                colorbar={
                    "x": 0.64 if i == 1 else 1.0,
                    "len": 0.8,
                    "thickness": 12,
                    "title": {"text": "ρ" if i == 1 else "gap", "side": "right"},
                },
                hovertemplate="%{y} × %{x}: %{z}<extra></extra>",
            ),
            row=1,
            col=i + 1,
        )
    # Three square panels fill ~1300px at about 380px each; labels need the rest.
    fig.update_layout(
        height=470 if len(columns) > 12 else 420,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        template="plotly_white",
    )
    font = 9 if len(columns) > 20 else 11
    fig.update_xaxes(tickfont_size=font, tickangle=-60, dtick=1, constrain="domain")
    fig.update_yaxes(autorange="reversed", tickfont_size=font, dtick=1, constrain="domain")
    for col in (1, 2, 3):
        # Square cells: a pair reads the same across and down.
        fig.update_yaxes(scaleanchor="x" if col == 1 else f"x{col}", row=1, col=col)
    for col in (2, 3):
        fig.update_yaxes(showticklabels=False, row=1, col=col)
    return fig


def _utility_figure(utility: Mapping[str, Any] | None) -> Any:
    if not utility or not isinstance(utility.get("models"), Mapping):
        return None
    import plotly.graph_objects as go

    models = {
        name: info
        for name, info in utility["models"].items()
        if isinstance(info, Mapping) and (_float(info.get("trtr")) is not None)
    }
    if not models:
        return None
    metric = str(utility.get("metric") or "score").upper()
    fig = go.Figure()
    for key, label, colour in (
        ("trtr", "trained on real (TRTR)", REAL_COLOUR),
        ("tstr", "trained on synthetic (TSTR)", SYNTHETIC_COLOUR),
    ):
        ys = [_float(info.get(key)) for info in models.values()]
        fig.add_trace(
            go.Bar(
                x=list(models),
                y=ys,
                name=label,
                marker_color=colour,
                text=[_fmt(y) for y in ys],
                textposition="outside",
            )
        )
    fig.update_layout(
        height=340,
        barmode="group",
        yaxis_title=f"{metric} on real holdout",
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 30, "b": 40},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"},
    )
    return fig


def _dcr_arrays(details: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Synthetic→train and holdout→train distances, wherever the engine keeps them."""
    source: Mapping[str, Any] = details
    for key in ("dcr", "privacy"):
        value = details.get(key)
        if isinstance(value, Mapping):
            source = value
            break

    def pick(keys: Iterable[str], prefix: str = "") -> np.ndarray | None:
        for key in keys:
            for name in (f"{prefix}{key}", key):
                value = source.get(name)
                if value is not None:
                    arr = np.asarray(value, dtype=float).ravel()
                    return arr[np.isfinite(arr)]
        return None

    synth = pick(_DCR_SYNTHETIC_KEYS, "dcr_")
    if synth is None or synth.size == 0:
        return None
    return synth, pick(_DCR_HOLDOUT_KEYS, "dcr_")


def _dcr_figure(synth: np.ndarray, holdout: np.ndarray | None) -> Any:
    import plotly.graph_objects as go

    both = synth if holdout is None else np.concatenate([synth, holdout])
    high = float(np.quantile(both, 0.99)) if both.size else 1.0
    high = high if high > 0 else float(both.max() or 1.0)
    edges = np.linspace(0.0, high, MAX_BINS + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure()
    series = [("synthetic → train", synth, SYNTHETIC_COLOUR)]
    if holdout is not None and holdout.size:
        series.insert(0, ("holdout → train", holdout, HOLDOUT_COLOUR))
    for label, values, colour in series:
        counts, _ = np.histogram(np.clip(values, 0.0, high), bins=edges)
        # Filled step lines: two overlaid bar sets blend into a third, unlabelled colour.
        fig.add_trace(
            go.Scatter(
                x=centres,
                y=counts / max(values.size, 1),
                name=f"{label} (median {np.median(values):.3g})",
                mode="lines",
                line={"shape": "hvh", "color": colour, "width": 2},
                fill="tozeroy",
                fillcolor=_rgba(colour, 0.18),
            )
        )
    if holdout is not None and holdout.size:
        p5 = float(np.quantile(holdout, 0.05))
        fig.add_vline(
            x=p5,
            line_dash="dash",
            line_color="#4a5568",
            annotation_text="holdout 5th percentile",
            annotation_position="top right",
        )
    fig.update_layout(
        height=360,
        xaxis_title="distance to closest training row (last bin: the farthest 1% and beyond)",
        showlegend=True,
        yaxis_title="share of rows",
        yaxis_tickformat=".0%",
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 30, "b": 50},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"},
    )
    return fig


def _fairness_figure(fairness: Mapping[str, Any]) -> Any:
    groups = fairness.get("groups") or {}
    if not isinstance(groups, Mapping) or not groups:
        return None
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = [_shorten(str(g), 24) for g in groups]
    # (title, ((key, legend label, colour), ...)); real/synthetic share one legend entry.
    panels = [
        (
            "Share of rows",
            (
                ("share_real", "real", REAL_COLOUR),
                ("share_synthetic", "synthetic", SYNTHETIC_COLOUR),
            ),
        ),
        (
            "Model score on real holdout",
            (("trtr", "real", REAL_COLOUR), ("tstr", "synthetic", SYNTHETIC_COLOUR)),
        ),
        (
            "Fidelity within group",
            (
                ("column_similarity", "column similarity", HOLDOUT_COLOUR),
                ("detection_auc", "detection AUC", "#805ad5"),
            ),
        ),
    ]
    panels = [
        p
        for p in panels
        if any(_float(g.get(key)) is not None for g in groups.values() for key, _, _ in p[1])
    ]
    if not panels:
        return None
    fig = make_subplots(
        rows=1, cols=len(panels), subplot_titles=[p[0] for p in panels], horizontal_spacing=0.08
    )
    shown: set[str] = set()
    for j, (_, series) in enumerate(panels):
        for key, label, colour in series:
            ys = [_float(g.get(key)) for g in groups.values()]
            fig.add_trace(
                go.Bar(
                    x=names,
                    y=ys,
                    name=label,
                    marker_color=colour,
                    legendgroup=label,
                    showlegend=label not in shown,
                    hovertemplate=f"%{{x}}<br>{label} ({key}): %{{y:.3f}}<extra></extra>",
                ),
                row=1,
                col=j + 1,
            )
            shown.add(label)
        fig.update_xaxes(type="category", row=1, col=j + 1)
    fig.update_layout(
        height=380,
        barmode="group",
        template="plotly_white",
        margin={"l": 50, "r": 20, "t": 60, "b": 40},
        legend={"orientation": "h", "y": -0.15},
    )
    return fig


# -- formatting ------------------------------------------------------------------------


def metric_help(metric: str) -> str:
    """The one-line explanation of ``metric`` (longest known prefix), or ''."""
    parts = metric.split(".")
    for n in range(len(parts), 0, -1):
        text = METRIC_HELP.get(".".join(parts[:n]))
        if text:
            return text
    return ""


_LABELS = {
    "privacy.k_anonymity.k_min": "Smallest group sharing quasi-identifiers (k)",
    "privacy.k_anonymity.share_k_below_5": "Rows in groups smaller than 5",
    "privacy.k_anonymity.excess_share_k_below_5": "Small quasi-identifier groups beyond real",
    "utility.ratio": "TSTR ÷ TRTR",
    "utility.trtr": "TRTR (trained on real)",
    "utility.tstr": "TSTR (trained on synthetic)",
    "privacy.dcr_share_below_holdout_p5": "Share closer than holdout's 5th percentile",
    "privacy.mia_auc": "Membership-inference AUC",
    "fidelity.validity.invalid_rate": "Invalid rows",
}


def metric_label(metric: str) -> str:
    if metric in _LABELS:
        return _LABELS[metric]
    words = {
        "auc": "AUC",
        "dcr": "DCR",
        "pmse": "pMSE",
        "tstr": "TSTR",
        "trtr": "TRTR",
        "nndr": "NNDR",
        "mia": "MIA",
        "dp": "DP",
        "p5": "5th pct",
    }
    parts = metric.split(".")
    if parts and parts[0] in SECTIONS and len(parts) > 1:
        parts = parts[1:]
    text = " · ".join(" ".join(words.get(w, w) for w in part.split("_")) for part in parts if part)
    return text[:1].upper() + text[1:]


def pretty_threshold(text: Any) -> str:
    return str(text or "").replace(">=", "≥").replace("<=", "≤")


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        v = float(value)
        if not math.isfinite(v):
            return str(v)
        if v != 0 and abs(v) < 0.001:
            return f"{v:.1e}"
        return f"{v:.3f}" if abs(v) < 100 else f"{v:,.0f}"
    if isinstance(value, list | tuple):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _rgba(colour: str, alpha: float) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _count(value: Any) -> str:
    return f"{int(value):,}" if isinstance(value, int | np.integer) else "?"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)
