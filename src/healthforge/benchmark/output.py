"""The benchmark's three files: a Markdown table, the full JSON, an offline HTML plot."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from healthforge.benchmark import tradeoff
from healthforge.benchmark.style import colour, fmt_stat
from healthforge.data.io import atomic_write_text

if TYPE_CHECKING:
    from healthforge.benchmark.records import Summary
    from healthforge.benchmark.result import BenchmarkResult

# (column header, field, decimals)
# duplicates: the table's columns; tradeoff.py declares its own (another table)
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("fit s", "fit_seconds", 2),
    ("fit ÷ ref", "fit_ratio", 2),
    ("sample 10k s", "sample_seconds_10k", 2),
    ("sample ÷ ref", "sample_ratio", 2),
    ("peak MB", "peak_rss_mb", 0),
    ("+MB", "added_rss_mb", 0),
    ("detection AUC", "detection_auc", 3),
    ("TSTR/TRTR", "utility_ratio", 3),
    ("DCR ratio", "dcr_ratio", 3),
    ("MIA AUC", "mia_auc", 3),
)
LEGEND = (
    "fit ÷ ref and sample ÷ ref: time over the reference generator's on the same split "
    "(the machine was shared with other work, so ratios are steadier than seconds); "
    "peak MB: peak resident memory of the child process while it fitted and sampled "
    "(the kernel's mark is reset after imports and data loading, but the interpreter and "
    "loaded libraries still count: about 250 MB for ours, more for torch-based peers); "
    "+MB: that peak minus the resident memory just before fitting; "
    "detection AUC: XGBoost telling real from synthetic, 0.5 is best; "
    "TSTR/TRTR: XGBoost AUROC for the target trained on synthetic vs on real rows, both "
    "tested on the holdout, 1 is best; DCR ratio: distance to the closest training row, "
    "synthetic vs held-out rows, below 1 hints at copying; MIA AUC: membership attack, "
    "0.5 means no leakage. Values are mean ± sd over the repeats that finished."
)


def _cells(summary: Summary) -> list[str]:
    if summary.ok == 0:
        return [summary.status] + [""] * (len(COLUMNS) - 1)
    return [fmt_stat(summary.stats[name], decimals) for _, name, decimals in COLUMNS]


def _runs(summary: Summary) -> str:
    runs = str(summary.runs) if summary.ok == summary.runs else f"{summary.ok}/{summary.runs}"
    low, high = summary.draws
    if high > 1:  # each run's metrics are a mean over that many sampled blocks
        runs += f" ×{low}" if low == high else f" ×{low}-{high}"
    return runs


def markdown_tables(result: BenchmarkResult) -> str:
    """One table per dataset: a row per method, mean ± sd per column."""
    reference = result.settings.get("reference") or "reference"
    parts = []
    for dataset in result.settings["datasets"]:
        info = result.datasets.get(dataset, {})
        dropped = info.get("dropped") or []
        head = (
            f"### {dataset} ({info.get('rows', '?')} rows × {info.get('columns', '?')} columns, "
            f"target `{info.get('target')}`"
            + (f"; dropped {', '.join(dropped)}, which reveal the target" if dropped else "")
            + ")"
        )
        headers = ["method", "runs", *(h.replace("ref", reference) for h, _, _ in COLUMNS)]
        lines = [head, "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        for summary in (s for s in result.summaries if s.dataset == dataset):
            name = summary.label if summary.source == "healthforge" else f"*{summary.label}*"
            lines.append("| " + " | ".join([name, _runs(summary), *_cells(summary)]) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def markdown(result: BenchmarkResult, command: str | None = None, note: str | None = None) -> str:
    m, s = result.machine, result.settings
    lines = [
        "# Benchmark: healthforge generators and peers on bundled health datasets",
        "",
        f"Measured {m.get('date')}"
        + (f" with `{command}`" if command else "")
        + f" (healthforge {m.get('healthforge')}, commit {m.get('git_commit')}).",
        "",
        f"- machine: {m.get('nproc')} cores ({m.get('cpu')}), {m.get('memory_gb')} GB; "
        f"load average {m.get('load_average_start')} at the start, "
        f"{m.get('load_average_end')} at the end (shared with other work)",
        f"- Python {m.get('python')}, numpy {m.get('numpy')}, pandas {m.get('pandas')}, "
        f"scikit-learn {m.get('scikit-learn')}, xgboost {m.get('xgboost')}, "
        f"torch {m.get('torch')}",
        f"- splits: {1 - s['holdout_fraction']:.0%}/{s['holdout_fraction']:.0%}, stratified on "
        f"the target, seed {s['seed']} + repeat; repeats: {s['repeats']} for healthforge, "
        f"{s['peer_repeats']} for peers"
        + (f" (peers on {', '.join(s['peer_datasets'])} only)" if s.get("peer_datasets") else ""),
        f"- each method fits on the train part in a child process; sampling is timed on "
        f"{s['sample_rows']:,} rows and "
        + (
            f"up to {s['eval_draws']} disjoint blocks of len(train) of them (as many as the "
            "method wrote) are each evaluated against "
            "the holdout with healthforge's `evaluate()` - the same call for every method - "
            "and a run's metrics are the blocks' mean (runs ×k: k blocks per run)"
            if s.get("eval_draws", 1) > 1
            else "the first len(train) of them are evaluated against the holdout with "
            "healthforge's `evaluate()` - the same call for every method"
        )
        + f"; peers run {s['peer_epochs']} epochs where they have epochs",
    ]
    if s.get("epsilons"):
        lines.append(
            "- differentially private methods ran at ε = "
            + ", ".join(f"{e:g}" for e in s["epsilons"])
            + " with the dataset's public schema (whole-table categories, numeric ranges "
            "widened to round numbers: a stand-in for a codebook's bounds) and DP noise "
            "seeded with the split seed; δ = min(1/n², 1e-6)"
        )
    for name, peer in result.peers.items():
        state = (
            f"installed ({peer['versions']}"
            + (f", install took {peer['install_seconds']:.0f} s" if peer["install_seconds"] else "")
            + ")"
            if peer["available"]
            else f"unavailable: {peer['reason']}"
        )
        if peer.get("assembled_without"):
            state += " when its runs were measured; not installed where this table was assembled"
        lines.append(f"- peer {name}: {state}. {peer['note']}")
    if note:
        lines += ["", note]
    lines += ["", "Peers are in *italics*. " + LEGEND, "", markdown_tables(result), ""]
    if tradeoff.has_tradeoff(result):
        lines += [tradeoff.markdown(result)]
    problems: dict[tuple[str, str, str, str], list[int]] = {}
    for r in result.records:
        if r.status not in ("ok", "not run"):  # not run: the table says so already
            problems.setdefault((r.dataset, r.label, r.status, r.reason), []).append(r.repeat)
    if problems:
        lines += ["## Runs that did not finish", ""]
        for (dataset, method, status, reason), repeats in problems.items():
            which = ", ".join(map(str, repeats))
            plural = "s" if len(repeats) > 1 else ""
            lines.append(f"- {dataset}, {method}, repeat{plural} {which}: {status}: {reason}")
        lines.append("")
    return "\n".join(lines)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def html_page(result: BenchmarkResult, command: str | None = None, note: str | None = None) -> str:
    """A page with grouped bar charts (mean ± sd) per metric; plotly.js inlined once."""
    import plotly.graph_objects as go
    from plotly.offline import get_plotlyjs
    from plotly.subplots import make_subplots

    panels = [
        ("detection AUC (0.5 best)", "detection_auc"),
        ("TSTR/TRTR (1 best)", "utility_ratio"),
        ("DCR ratio (about 1: no copying)", "dcr_ratio"),
        (f"fit time ÷ {result.settings.get('reference')} (log)", "fit_ratio"),
    ]
    figure = make_subplots(
        rows=len(panels), cols=1, subplot_titles=[p[0] for p in panels], vertical_spacing=0.07
    )
    methods = list(dict.fromkeys(s.label for s in result.summaries))
    datasets = result.settings["datasets"]
    for i, method in enumerate(methods):
        for row, (_, field) in enumerate(panels, start=1):
            xs, ys, errs = [], [], []
            for dataset in datasets:
                summary = next(
                    (s for s in result.summaries if s.dataset == dataset and s.label == method),
                    None,
                )
                stat = summary.stats[field] if summary is not None else None
                xs.append(dataset)
                ys.append(stat.mean if stat is not None else None)
                errs.append((stat.sd or 0.0) if stat is not None else 0.0)
            figure.add_trace(
                go.Bar(
                    x=xs, y=ys, name=method, legendgroup=method, showlegend=row == 1,
                    error_y={"type": "data", "array": errs, "visible": True},
                    marker_color=colour(i),
                ),
                row=row, col=1,
            )  # fmt: skip
    figure.update_yaxes(type="log", row=len(panels), col=1)
    figure.update_layout(
        barmode="group", height=330 * len(panels), template="plotly_white",
        margin={"l": 60, "r": 20, "t": 60, "b": 40},
    )  # fmt: skip
    plot = figure.to_html(full_html=False, include_plotlyjs=False)
    if tradeoff.has_tradeoff(result):
        plot += "\n<h2>Privacy-utility trade-off</h2>\n" + tradeoff.figure_html(result)
    body = (
        "<h1>Benchmark: healthforge generators and peers</h1>\n"
        f"<pre>{html.escape(markdown(result, command, note))}</pre>\n{plot}"
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        "<title>HealthForge benchmark</title>\n"
        "<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:1400px}"
        "pre{white-space:pre-wrap;font-size:12px}</style>\n"
        # plotly's bundle contains no "</script" sequence, so inlining it raw is safe
        f"<script type='text/javascript'>{get_plotlyjs()}</script>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def write_all(
    result: BenchmarkResult,
    out_dir: Path,
    command: str | None,
    note: str | None = None,
    stem: str = "benchmark",
) -> dict[str, Path]:
    """``<stem>.md``, ``<stem>.json`` (every run, with its cache key) and ``<stem>.html``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "markdown": out_dir / f"{stem}.md",
        "json": out_dir / f"{stem}.json",
        "html": out_dir / f"{stem}.html",
    }
    document = _json_safe({"command": command, "note": note, **result.to_dict()})
    atomic_write_text(paths["json"], json.dumps(document, indent=2, allow_nan=False) + "\n")
    atomic_write_text(paths["markdown"], markdown(result, command, note))
    atomic_write_text(paths["html"], html_page(result, command, note))
    return paths
