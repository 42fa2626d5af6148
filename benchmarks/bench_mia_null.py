"""How noisy is the membership-inference AUC on small holdouts? (issue #25, #22).

For each dataset (ICU, 200 rows; NHEFS complete, 1,566 rows) and each of ``--reps``
seeded 80/20 splits, fit a generator on the training part and run the DOMIAS attack of
:func:`healthforge.evaluation.privacy.domias_auc` (rows per side, AUC, Hanley-McNeil
standard error), plus the two DCR checks. Generators: ``independent`` and ``dp_copula``
at epsilon = 1 (cannot memorise), ``half copy`` (half the rows are training rows, half
an ``independent`` sample) and ``copy`` (the synthetic table *is* the training table).

Run: ``PYTHONPATH=src python benchmarks/bench_mia_null.py [--reps 20]``; prints a
markdown table (mean and sd of the AUC over splits, the share of splits whose point
estimate fails the old <= 0.60 rule, and the share failing / warning under the interval
rule of :mod:`healthforge.evaluation.scoring`).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd

from healthforge.data.bundled import get_dataset
from healthforge.data.infer import infer_schema
from healthforge.data.split import split_train_holdout
from healthforge.evaluation import privacy
from healthforge.evaluation.features import FeatureSpace, encode_codes
from healthforge.evaluation.scoring import score
from healthforge.generators import get_generator

DATASETS = {
    "icu": ("icu", "died", []),
    "nhefs": ("nhefs_complete", "death", ["seqn", "yrdth", "modth", "dadth", "id", "censored"]),
}
GENERATORS = ("independent", "dp_copula eps=1", "half copy", "copy")


def synthesise(name: str, train, schema, target: str, seed: int):
    if name == "copy":
        return train.copy()
    if name == "independent":
        model = get_generator("independent", seed=seed)
    elif name == "dp_copula eps=1":
        model = get_generator("dp_copula", epsilon=1.0, seed=seed, noise_seed=seed)
    else:  # "half copy": half training rows, half an independent sample
        fresh = synthesise("independent", train, schema, target, seed)
        half = len(train) // 2
        return pd.concat([train.sample(half, random_state=seed), fresh.iloc[half:]])
    model.fit(train, schema, target=target)
    return model.sample(len(train), seed=seed)


def one(dataset: str, generator: str, seed: int) -> dict:
    source, target, drop = DATASETS[dataset]
    df = get_dataset(source).load().drop(columns=drop, errors="ignore")
    train, holdout = split_train_holdout(df, target, 0.2, seed=seed)
    schema = infer_schema(df, target=target)
    synthetic = synthesise(generator, train, schema, target, seed)
    columns = schema.modelled
    codes = {
        k: encode_codes(f, columns) for k, f in (("r", train), ("s", synthetic), ("h", holdout))
    }
    space = FeatureSpace.fit(codes["r"], columns)
    dense = {k: space.matrix(c) for k, c in codes.items()}
    mia = privacy.domias_auc(dense["r"], dense["s"], dense["h"], np.random.default_rng([seed, 5]))
    dcr = privacy.dcr_metrics(
        privacy.nearest_distances(dense["r"], dense["s"]),
        privacy.nearest_distances(dense["r"], dense["h"]),
    )
    summary = {"privacy": {"mia_auc": mia["auc"], "mia_auc_ci": mia["ci"]}}
    entry = next(e for e in score(summary) if e["metric"] == "privacy.mia_auc")
    return {"dataset": dataset, "generator": generator, "seed": seed, **mia, **dcr,
            "status": entry["status"], "verdict": entry["verdict"]}  # fmt: skip


def table(rows: list[dict]) -> str:
    lines = [
        "| data | generator | splits | members/non-members | AUC mean | AUC sd | mean SE (H-M) | "
        "point > 0.60 (old fail) | point > 0.55 | fail (new) | warn (new) | "
        "DCR ratio mean (min) | share < holdout p5 mean (max) |",
        "|" + "---|" * 13,
    ]
    for d in DATASETS:
        for g in GENERATORS:
            rs = [r for r in rows if r["dataset"] == d and r["generator"] == g]
            if not rs:
                continue
            auc = np.array([r["auc"] for r in rs])
            dcr = np.array([r["dcr_ratio"] for r in rs], dtype=float)
            p5 = np.array([r["dcr_share_below_holdout_p5"] for r in rs])
            n = len(rs)

            def share(cond: np.ndarray, n: int = n) -> str:
                return f"{int(cond.sum())}/{n}"

            lines.append(
                f"| {d} | {g} | {n} | {rs[0]['members']}/{rs[0]['non_members']} | "
                f"{auc.mean():.3f} | "
                f"{auc.std(ddof=1):.3f} | {np.mean([r['se'] for r in rs]):.3f} | "
                f"{share(auc > 0.60)} | {share(auc > 0.55)} | "
                f"{share(np.array([r['status'] == 'fail' for r in rs]))} | "
                f"{share(np.array([r['status'] == 'warn' for r in rs]))} | "
                f"{np.nanmean(dcr):.2f} ({np.nanmin(dcr):.2f}) | {p5.mean():.3f} ({p5.max():.3f}) |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--datasets", default="icu,nhefs")
    parser.add_argument("--generators", default=",".join(GENERATORS))
    parser.add_argument("--jsonl", default=None, help="also write one JSON line per run")
    args = parser.parse_args()
    rows = []
    for d in args.datasets.split(","):
        for g in args.generators.split(","):
            for seed in range(args.reps):
                rows.append(one(d, g, seed))
                if args.jsonl:
                    with open(args.jsonl, "a") as fh:
                        fh.write(json.dumps(rows[-1], default=float) + "\n")
    print(table(rows))


if __name__ == "__main__":
    main()
