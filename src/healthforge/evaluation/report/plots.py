"""Plotly figures of the report: marginals, correlations, utility, DCR, subgroups."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from healthforge.evaluation.report.frames import _shares
from healthforge.evaluation.report.text import (
    HOLDOUT_COLOUR,
    MAX_BINS,
    REAL_COLOUR,
    SYNTHETIC_COLOUR,
    _e,
    _float,
    _fmt,
    _rgba,
    _shorten,
)

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
