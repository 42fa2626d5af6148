"""Tree generators against the statistical ones on NHEFS: time, utility, detectability.

Setup as in /work/shared/ANCHORS.md: ``bundled:nhefs_complete`` (1,566 rows), identifiers
and the constant ``censored`` dropped, ``yrdth``/``modth``/``dadth`` dropped (they
are filled only when ``death`` = 1), target ``death``, 80/20 stratified split. Every
generator is fitted on the training part only.

* fit (s), sample 10k (s): wall clock, including decoding to a DataFrame.
* TSTR/TRTR: AUROC on the holdout of XGBoost trained on synthetic rows (as many as
  the training part) divided by AUROC of XGBoost trained on the real training part.
* detection AUC: XGBoost, 5-fold stratified, real training rows vs as many synthetic
  rows; 0.5 = indistinguishable (real holdout vs real train is the floor).
* DCR ratio: median distance of synthetic rows to their closest training row divided
  by the same for holdout rows (features scaled to [0, 1], categories one-hot);
  below 1 means synthetic rows sit closer to training rows than unseen real rows do.

Each generator is fitted with ``--repeats`` seeds; the table shows mean (sd).

With ``--evaluate``, a second table cross-checks every seed of every generator with the
project's metric engine (``healthforge.evaluation.evaluate``, training rows as
``real``, the split's holdout as ``holdout``).

``--dataset icu`` runs the same protocol on the 200-row ICU table (target ``died``);
``--param KEY=VALUE`` passes a generator parameter (JSON value) to every generator.

Run: ``.venv/bin/python benchmarks/bench_tree_generators.py [--dataset icu] [--repeats 3]
[--evaluate] [--param min_samples_leaf=5]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.neighbors import NearestNeighbors
from xgboost import XGBClassifier

from healthforge.data import load_table
from healthforge.data.bundled import default_target
from healthforge.data.encoding import TableEncoder
from healthforge.generators import get_generator

TARGET = "death"  # set by --dataset
# per dataset: columns dropped before fitting (identifiers, constants, target leaks)
DROPS = {
    "nhefs_complete": ["seqn", "censored", "yrdth", "modth", "dadth"],
    "icu": [],
}
GENERATORS = ("cart", "arf", "gaussian_copula", "bayesian_network")


def _xgb(seed: int) -> XGBClassifier:
    return XGBClassifier(
        n_estimators=300, max_depth=4, learning_rate=0.05, n_jobs=2, random_state=seed
    )


def _features(encoder: TableEncoder, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Encoded features ``(n, p)`` (NaN kept, XGBoost routes it) and the target ``(n,)``."""
    X = encoder.encode(df, strict=False)
    t = encoder.names.index(TARGET)
    return np.delete(X, t, axis=1), X[:, t]


def utility(encoder: TableEncoder, train: pd.DataFrame, test: pd.DataFrame, seed: int) -> float:
    Xtr, ytr = _features(encoder, train)
    Xte, yte = _features(encoder, test)
    model = _xgb(seed).fit(Xtr, ytr)
    return float(roc_auc_score(yte, model.predict_proba(Xte)[:, 1]))


def detection(encoder: TableEncoder, real: pd.DataFrame, synth: pd.DataFrame, seed: int) -> float:
    X = np.vstack([encoder.encode(real, strict=False), encoder.encode(synth, strict=False)])
    y = np.r_[np.ones(len(real)), np.zeros(len(synth))]
    scores = []
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    for fit_idx, test_idx in folds.split(X, y):
        model = _xgb(seed).fit(X[fit_idx], y[fit_idx])
        scores.append(roc_auc_score(y[test_idx], model.predict_proba(X[test_idx])[:, 1]))
    return float(np.mean(scores))


def _dcr_space(encoder: TableEncoder, frames: list[pd.DataFrame]) -> list[np.ndarray]:
    """Rows in [0, 1]^p: numerics min-max scaled (missing = -1), categories one-hot."""
    mats = [encoder.encode(f, strict=False) for f in frames]
    ref = mats[0]
    blocks: list[list[np.ndarray]] = [[] for _ in mats]
    for j, column in enumerate(encoder.columns):
        if column.is_discrete:
            k = len(column.categories or [])
            for b, m in zip(blocks, mats, strict=True):
                codes = np.nan_to_num(m[:, j], nan=k).astype(int)
                b.append(np.eye(k + 1)[codes])
        else:
            lo, hi = np.nanmin(ref[:, j]), np.nanmax(ref[:, j])
            for b, m in zip(blocks, mats, strict=True):
                scaled = (m[:, j] - lo) / (hi - lo if hi > lo else 1.0)
                b.append(np.nan_to_num(scaled, nan=-1.0)[:, None])
    return [np.hstack(b) for b in blocks]


def dcr_ratio(
    encoder: TableEncoder, train: pd.DataFrame, test: pd.DataFrame, synth: pd.DataFrame
) -> float:
    tr, te, sy = _dcr_space(encoder, [train, test, synth.head(len(test))])
    nn = NearestNeighbors(n_neighbors=1).fit(tr)
    return float(np.median(nn.kneighbors(sy)[0]) / np.median(nn.kneighbors(te)[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--generators", nargs="*", default=list(GENERATORS))
    parser.add_argument("--evaluate", action="store_true", help="also run evaluate()")
    parser.add_argument("--only-evaluate", action="store_true", help="only run evaluate()")
    parser.add_argument("--dataset", choices=sorted(DROPS), default="nhefs_complete")
    parser.add_argument(
        "--param", action="append", default=[], help="generator parameter KEY=VALUE (JSON value)"
    )
    args = parser.parse_args()
    params = {k: json.loads(v) for k, v in (p.split("=", 1) for p in args.param)}

    global TARGET
    TARGET = default_target(f"bundled:{args.dataset}") or TARGET
    df = load_table(f"bundled:{args.dataset}").drop(columns=DROPS[args.dataset])
    train, test = train_test_split(df, test_size=0.2, stratify=df[TARGET], random_state=0)
    train, test = train.reset_index(drop=True), test.reset_index(drop=True)

    reference = get_generator("independent").fit(train, target=TARGET)
    encoder = reference.encoder_
    trtr = utility(encoder, train, test, 0)
    floor = detection(encoder, train, test, 0)
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}")
    print(f"data: {args.dataset} {df.shape}, train {len(train)}, holdout {len(test)}")
    print(f"TRTR AUROC {trtr:.3f}; detection floor (holdout vs train) {floor:.3f}")
    if args.only_evaluate:
        engine_table(args.generators, train, test, args.repeats, params)
        return
    print()
    print("| method | fit (s) | sample 10k (s) | TSTR/TRTR | detection AUC | DCR ratio |")
    print("|---|---|---|---|---|---|")
    for name in args.generators:
        rows = []
        for seed in range(args.repeats):
            gen = get_generator(name, seed=seed, **params)
            start = time.perf_counter()
            gen.fit(train, target=TARGET)
            fit_s = time.perf_counter() - start
            start = time.perf_counter()
            big = gen.sample(10_000, seed=seed + 100)
            sample_s = time.perf_counter() - start
            synth = big.head(len(train))
            rows.append(
                (
                    fit_s,
                    sample_s,
                    utility(encoder, synth, test, seed) / trtr,
                    detection(encoder, train, synth, seed),
                    dcr_ratio(encoder, train, test, big),
                )
            )
        arr = np.array(rows)
        cells = [f"{m:.2f} ({s:.2f})" for m, s in zip(arr.mean(0), arr.std(0), strict=True)]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    if args.evaluate:
        engine_table(args.generators, train, test, args.repeats, params)


ENGINE_KEYS = (
    ("utility", "ratio"),
    ("fidelity", "detection_auc"),
    ("fidelity", "column_similarity"),
    ("fidelity", "pair_similarity"),
    ("privacy", "dcr_ratio"),
    ("privacy", "mia_auc"),
)


def engine_table(
    names: list[str],
    train: pd.DataFrame,
    test: pd.DataFrame,
    repeats: int,
    params: dict[str, object],
) -> None:
    """Every seed of every generator through ``healthforge.evaluation.evaluate``."""
    from healthforge.evaluation.evaluate import evaluate

    print()
    print(
        f"healthforge.evaluation.evaluate, mean (sd) over {repeats} seeds, "
        "synthetic rows = training rows:"
    )
    print("| method | " + " | ".join(".".join(k) for k in ENGINE_KEYS) + " |")
    print("|---|" + "---|" * len(ENGINE_KEYS))
    for name in names:
        rows = []
        for seed in range(repeats):
            gen = get_generator(name, seed=seed, **params).fit(train, target=TARGET)
            synth = gen.sample(len(train), seed=seed + 100)
            summary = evaluate(train, synth, holdout=test, target=TARGET, seed=seed).summary
            rows.append([summary[block][key] for block, key in ENGINE_KEYS])
        arr = np.array(rows, dtype=float)  # None (metric skipped) becomes NaN
        cells = [
            "—" if np.isnan(m) else f"{m:.2f} ({s:.2f})"
            for m, s in zip(arr.mean(0), arr.std(0), strict=True)
        ]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
