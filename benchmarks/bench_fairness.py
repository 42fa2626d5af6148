"""Fairness-aware generation (``generate --fair-by``) vs a plain generator, per subgroup.

For each dataset, generator and seed: a seeded 80/20 split (stratified on the target),
the generator fitted on the training part plainly and as ``FairGenerator`` (one model
per group of ``race``), as many synthetic rows as training rows, and
``evaluate(..., fairness_by="race")``: per-group column similarity (synthetic vs real
rows of the group), its worst gap between groups (lower is fairer), overall column
similarity and TSTR/TRTR.

ICU's race groups are too small for per-group scores (about 140 White, 12 Black and 8
Other training rows; the evaluation scores a group from 20 rows): ICU runs group by its
two-level race column ``white`` instead (White vs Black or Other; note that vcdExtra's
ICU labels it the wrong way round - every race = White row has white = "Non-white"), with
``min_group_rows`` lowered to 10 since the smaller group has about 20 training rows.

Run: ``.venv/bin/python benchmarks/bench_fairness.py [--seeds 3] [--generators cart]``
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from healthforge.data import get_dataset
from healthforge.evaluation import evaluate, split_train_holdout
from healthforge.generators import get_generator
from healthforge.generators.composite.fair import FairGenerator

# dataset -> (group column, min_group_rows of the fair variant)
DATASETS = {"nhefs_complete": ("race", 20), "icu": ("white", 10)}


def run(dataset: str, generator: str, seeds: int) -> pd.DataFrame:
    spec = get_dataset(dataset)
    by, min_rows = DATASETS[dataset]
    real = spec.load().drop(columns=list(spec.leaky_for_target))
    rows = []
    for fair in (False, True):
        for seed in range(seeds):
            train, holdout = split_train_holdout(real, spec.target, 0.2, seed=seed)
            model = (
                FairGenerator(base=generator, fair_by=by, min_group_rows=min_rows, seed=seed)
                if fair
                else get_generator(generator, seed=seed)
            )
            model.fit(train, target=spec.target)
            synthetic = model.sample(len(train), seed=seed)
            result = evaluate(
                train, synthetic, holdout=holdout, target=spec.target, fairness_by=by,
                seed=seed, n_estimators=100,
            )  # fmt: skip
            block = result.summary["fairness"]
            labels = model.schema_[by].labels or {}
            row = {
                "dataset": dataset,
                "generator": generator,
                "variant": f"one model per {by}" if fair else "plain",
                "seed": seed,
                "worst_gap": block["worst_gap"]["column_similarity"],
                "overall": result.summary["fidelity"]["column_similarity"],
                "tstr_trtr": result.summary["utility"]["ratio"],
            }
            for group, metrics in block["groups"].items():
                name = labels.get(int(group), group) if group.isdigit() else group
                row[f"sim {name}"] = metrics.get("column_similarity")
            rows.append(row)
    return pd.DataFrame(rows)


def markdown(frame: pd.DataFrame) -> str:
    """Mean (sd) per dataset, generator and variant."""
    keys = ["dataset", "generator", "variant"]
    values = [c for c in frame.columns if c not in [*keys, "seed"]]
    lines = [
        "| " + " | ".join(keys + values) + " |",
        "|" + "---|" * (len(keys) + len(values)),
    ]
    for key, group in frame.groupby(keys, sort=False):
        cells = []
        for column in values:
            data = pd.to_numeric(group[column], errors="coerce").to_numpy(dtype=float)
            data = data[np.isfinite(data)]
            cells.append(f"{data.mean():.3f} ({data.std():.3f})" if data.size else "—")
        lines.append("| " + " | ".join([*map(str, key), *cells]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--generators", nargs="*", default=["cart"])
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS))
    args = parser.parse_args()
    frames = [run(d, g, args.seeds) for d in args.datasets for g in args.generators]
    for frame in frames:
        print(markdown(frame), flush=True)
        print()


if __name__ == "__main__":
    main()
