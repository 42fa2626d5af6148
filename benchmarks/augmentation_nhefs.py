"""Reproduce docs/augmentation.md: augmentation and fairness-aware generation on NHEFS race.

    .venv/bin/python benchmarks/augmentation_nhefs.py [OUT_DIR]   # default docs/augmentation

Writes, per generator, the experiment's HTML report, JSON summary and Markdown table,
an SVG chart of holdout AUROC, and the fairness comparison (plain vs one generator per
race group) as Markdown and SVG.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from healthforge.augment import (
    ARM_LABELS,
    ARMS,
    OVERALL,
    AugmentResult,
    augment_experiment,
    markdown_table,
    write_augment_report,
)
from healthforge.data import get_dataset
from healthforge.evaluation import evaluate, split_train_holdout
from healthforge.generators import get_generator
from healthforge.generators.composite.fair import FairGenerator

GENERATORS = ("cart", "bayesian_network")
REPEATS = 5
FAIR_SEEDS = (0, 1, 2)
COLOURS = {"real": "#1f5f99", "augmented": "#5a9e6f", "synthetic": "#e07b39"}


def svg_bars(
    panels: dict[str, dict[str, list[tuple[str, float, float, float]]]],
    colours: dict[str, str],
    y_range: tuple[float, float],
    y_label: str,
) -> str:
    """Grouped bars with whiskers: ``panels[panel][series] = [(x, mean, low, high)]``."""
    width, height, left, top, bottom = 360, 300, 50, 30, 60
    total = width * len(panels) + 20
    lo, hi = y_range

    def y(v: float) -> float:
        return top + (height - top - bottom) * (1 - (v - lo) / (hi - lo))

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{total}' height='{height + 30}' "
        "font-family='sans-serif' font-size='11'>",
        "<rect width='100%' height='100%' fill='white'/>",
    ]
    for p, (title, series) in enumerate(panels.items()):
        x0 = p * width + left
        plot_w = width - left - 10
        parts.append(
            f"<text x='{x0 + plot_w / 2}' y='16' text-anchor='middle' font-size='13'>{title}</text>"
        )
        for tick in np.linspace(lo, hi, 5):
            parts.append(
                f"<line x1='{x0}' x2='{x0 + plot_w}' y1='{y(tick):.1f}' "
                f"y2='{y(tick):.1f}' stroke='#ddd'/>"
                f"<text x='{x0 - 4}' y='{y(tick) + 4:.1f}' text-anchor='end'>{tick:.2f}</text>"
            )
        if p == 0:
            parts.append(
                f"<text transform='translate(12,{height / 2}) rotate(-90)' "
                f"text-anchor='middle'>{y_label}</text>"
            )
        xs = list(dict.fromkeys(x for values in series.values() for x, *_ in values))
        slot = plot_w / max(len(xs), 1)
        bar = slot * 0.8 / max(len(series), 1)
        for s, (name, values) in enumerate(series.items()):
            for x, mean, low, high in values:
                if not np.isfinite(mean):
                    continue
                bx = x0 + xs.index(x) * slot + slot * 0.1 + s * bar
                parts.append(
                    f"<rect x='{bx:.1f}' y='{y(mean):.1f}' width='{bar - 1:.1f}' "
                    f"height='{y(lo) - y(mean):.1f}' fill='{colours[name]}'/>"
                )
                if np.isfinite(low) and np.isfinite(high):
                    cx = bx + bar / 2
                    parts.append(
                        f"<line x1='{cx:.1f}' x2='{cx:.1f}' y1='{y(min(high, hi)):.1f}' "
                        f"y2='{y(max(low, lo)):.1f}' stroke='black'/>"
                    )
        for i, x in enumerate(xs):
            parts.append(
                f"<text x='{x0 + (i + 0.5) * slot:.1f}' y='{height - bottom + 16}' "
                f"text-anchor='middle'>{x}</text>"
            )
    legend_x = 10
    for name, colour in colours.items():
        parts.append(
            f"<rect x='{legend_x}' y='{height + 8}' width='10' height='10' fill='{colour}'/>"
            f"<text x='{legend_x + 14}' y='{height + 17}'>{ARM_LABELS.get(name, name)}</text>"
        )
        legend_x += 170
    parts.append("</svg>")
    return "\n".join(parts)


def augmentation_svg(results: dict[str, AugmentResult]) -> str:
    panels = {}
    for generator, result in results.items():
        table = result.table
        for model in result.settings["models"]:
            series = {}
            for arm in ARMS:
                rows = []
                for group in (OVERALL, "0", "1"):
                    hit = table[
                        (table.model == model) & (table.arm == arm) & (table.group == group)
                    ]
                    label = {"overall": "overall", "0": "white", "1": "black/other"}[group]
                    if len(hit):
                        r = hit.iloc[0]
                        rows.append((label, r["mean"], r["low"], r["high"]))
                series[arm] = rows
            panels[f"{model}, {generator}"] = series
    return svg_bars(panels, COLOURS, (0.5, 1.0), "holdout AUROC")


def fairness_comparison(real: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for generator in GENERATORS:
        for fair in (False, True):
            for seed in FAIR_SEEDS:
                train, holdout = split_train_holdout(real, "death", 0.2, seed=seed)
                model = (
                    FairGenerator(base=generator, fair_by="race", seed=seed)
                    if fair
                    else get_generator(generator, seed=seed)
                )
                model.fit(train, target="death")
                synthetic = model.sample(len(train), seed=seed)
                result = evaluate(
                    train, synthetic, holdout=holdout, target="death", fairness_by="race",
                    seed=seed, n_estimators=100,
                )  # fmt: skip
                block = result.summary["fairness"]
                rows.append(
                    {
                        "generator": generator,
                        "variant": "one model per race" if fair else "plain",
                        "seed": seed,
                        "similarity_white": block["groups"]["0"]["column_similarity"],
                        "similarity_black_other": block["groups"]["1"]["column_similarity"],
                        "worst_gap": block["worst_gap"]["column_similarity"],
                        "overall_similarity": result.summary["fidelity"]["column_similarity"],
                        "tstr_ratio": result.summary["utility"]["ratio"],
                    }
                )
    return pd.DataFrame(rows)


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    dataset = get_dataset("nhefs")
    real = dataset.load()
    results = {}
    for generator in GENERATORS:
        started = time.perf_counter()
        result = augment_experiment(
            real, "race", "death", generator=generator, repeats=REPEATS,
            drop=list(dataset.leaky_for_target),
        )  # fmt: skip
        seconds = time.perf_counter() - started
        results[generator] = result
        write_augment_report(result, out_dir / f"augment_race_{generator}.html")
        summary = {**result.summary(), "seconds": round(seconds, 1)}
        (out_dir / f"augment_race_{generator}.json").write_text(json.dumps(summary, indent=2))
        (out_dir / f"augment_race_{generator}.md").write_text(
            markdown_table(result) + "\n\n" + result.conclusion + "\n"
        )
        print(f"{generator}: {seconds:.0f}s\n{markdown_table(result)}\n{result.conclusion}\n")
    (out_dir / "augment_race.svg").write_text(augmentation_svg(results))

    fair = fairness_comparison(real.drop(columns=list(dataset.leaky_for_target)))
    fair.to_csv(out_dir / "fairness_race.csv", index=False)
    means = fair.groupby(["generator", "variant"], sort=False).agg(["mean", "std"])
    print(means.round(4).to_string())
    panels = {}
    for generator in GENERATORS:
        series = {}
        for variant, colour_key in (("plain", "real"), ("one model per race", "augmented")):
            part = fair[(fair.generator == generator) & (fair.variant == variant)]
            values = []
            for column, label in (
                ("similarity_white", "white"),
                ("similarity_black_other", "black/other"),
            ):
                v = part[column].to_numpy()
                values.append((label, v.mean(), v.min(), v.max()))
            series[colour_key] = values
        panels[generator] = series
    svg = svg_bars(panels, COLOURS, (0.85, 1.0), "column similarity")
    svg = (
        svg.replace(ARM_LABELS["real"], "plain generator")
        .replace(ARM_LABELS["augmented"], "one model per race")
        .replace(ARM_LABELS["synthetic"], "")
    )
    (out_dir / "fairness_race.svg").write_text(svg)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/augmentation"))
