"""Quick development runs on the main benchmark's splits, without timing or caching.

Mirrors ``healthforge benchmark`` (same bundled data with leaky columns dropped, same
seeded 80/20 split per seed, same ``evaluate()`` call on the first len(train) sampled
rows) but runs in-process, takes generator parameters, and prints TSTR/TRTR,
detection AUC and DCR ratio per split plus their mean and sd. Used for
``benchmarks/results/best_generator.md``:

    python benchmarks/bench_splits.py ddpm --datasets icu --seeds 0,1,2,3,4,5 --rows 2000 \
        --params '{"hidden": 64, "max_steps": 600}'
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from healthforge.benchmark.harness import load_dataset
from healthforge.data.infer import infer_schema
from healthforge.evaluation import evaluate, split_train_holdout
from healthforge.generators import get_generator


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("generator")
    p.add_argument("--params", default="{}", help="generator parameters as JSON")
    p.add_argument("--datasets", default="nhefs,icu")
    p.add_argument("--seeds", default="0,1,2", help="split seeds (the harness's seed + repeat)")
    p.add_argument("--rows", type=int, default=10_000, help="rows sampled (harness: 10,000)")
    args = p.parse_args()
    params = json.loads(args.params)
    for name in args.datasets.split(","):
        data = load_dataset(name)
        rows = []
        for seed in [int(s) for s in args.seeds.split(",")]:
            train, holdout = split_train_holdout(data.data, data.target, 0.2, seed)
            schema = infer_schema(train, data.target)
            started = time.perf_counter()
            model = get_generator(args.generator, seed=seed, **params)
            model.fit(train, target=data.target)
            fitted = time.perf_counter()
            synthetic = model.sample(args.rows, seed=seed).head(len(train)).reset_index(drop=True)
            result = evaluate(
                train, synthetic, holdout=holdout, schema=schema, target=data.target, seed=seed
            ).summary
            row = {
                "tstr": result["utility"]["ratio"],
                "det": result["fidelity"]["detection_auc"],
                "dcr": result["privacy"]["dcr_ratio"],
                "fit_s": fitted - started,
            }
            if hasattr(model, "steps_"):
                row["steps"] = float(model.steps_)
            rows.append(row)
            print(name, seed, " ".join(f"{k}={v:.3f}" for k, v in row.items()), flush=True)
        ddof = 1 if len(rows) > 1 else 0  # one split: sd 0, not a warning
        stats = " ".join(
            f"{k}={np.mean([r[k] for r in rows]):.3f}±{np.std([r[k] for r in rows], ddof=ddof):.3f}"
            for k in rows[0]
        )
        print(f"mean {args.generator} {args.params} {name} n={len(rows)} {stats}", flush=True)


if __name__ == "__main__":
    main()
