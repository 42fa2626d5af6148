"""DP numeric bounds without a schema: released vs real range on NHEFS, ICU and Pima.

    nice -n 10 .venv/bin/python benchmarks/bench_dp_bounds.py [--utility]

For every numeric column of each bundled table without a schema (the CLI's 80% training
split, seed 0; default delta) at the epsilons of ``RUNS`` (ICU also at 2 and 3: at 1 it
is refused), the bounds a DP fit would release
(:func:`healthforge.generators.private.domain.released_bounds`: the fit's budget split and
noise) over ``SEEDS`` noise seeds, for three mechanisms at the same zCDP cost: **new**,
the window scan of the noisy histogram (widths ``bounds.BOUNDS_WIDTHS``); **hist**, the
same noisy histogram read bin by bin (``widths=(1,)``, the release before the scan);
**old**, the exponential mechanism on a flat grid of round numbers (re-implemented
below).
Per column: the real min/max of the training rows, the median released low/high, how
many seeds refused the column, the widening factor ``(high - low) / (max - min)`` and the
share of training values inside the released range (the rest are clipped).

``--utility`` adds TSTR/TRTR of ``aim`` and ``dp_copula`` at epsilon = 1 without a schema,
new and hist bounds, via :func:`healthforge.evaluation.evaluate` as ``generate --evaluate``
calls it (training rows, synthetic rows as many as trained on, holdout).

Writes ``benchmarks/results/dp_bounds.md`` and ``.json``.
"""

from __future__ import annotations

import json
import math
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

from healthforge.data.bundled import get_dataset
from healthforge.data.encoding import TableEncoder
from healthforge.data.prepare import PreparedData, prepare
from healthforge.errors import HealthForgeError
from healthforge.evaluation import evaluate, split_train_holdout
from healthforge.generators import get_generator
from healthforge.generators.private import budget, domain
from healthforge.privacy.accounting import default_delta

RUNS = (("nhefs", 1.0), ("icu", 1.0), ("icu", 2.0), ("icu", 3.0), ("pima", 1.0))
EPSILON = 1.0  # of the utility section
SEEDS = range(10)
OUT = Path(__file__).parent / "results"

_OLD_MANTISSAS = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0)
_OLD_POSITIVE = np.array([m * 10.0**k for k in range(-3, 10) for m in _OLD_MANTISSAS])
OLD_GRID = np.unique(np.concatenate([-_OLD_POSITIVE, [0.0], _OLD_POSITIVE]))


def old_bounds(values: np.ndarray, sigma: float, rng: np.random.Generator) -> tuple[float, float]:
    """The earlier release: exponential mechanism, utility -|rank error| around the 0.5%
    and 99.5% quantiles on OLD_GRID, at the histogram's zCDP cost 1 / (2 sigma^2)."""
    epsilon = math.sqrt(8 / (2 * sigma**2))  # the EM is epsilon^2 / 8-zCDP
    x = np.sort(values[np.isfinite(values)])
    target = 0.005 * len(x)
    below = np.searchsorted(x, OLD_GRID, "left")
    above = len(x) - np.searchsorted(x, OLD_GRID, "right")
    picks = []
    for utility in (-np.abs(below - target), -np.abs(above - target)):
        logits = epsilon / 2 * utility / 2
        p = np.exp(logits - logits.max())
        picks.append(OLD_GRID[rng.choice(len(p), p=p / p.sum())])
    low, high = sorted(picks)
    return float(low), float(high)


def old_release(prepared: PreparedData, epsilon: float, seed: int) -> dict:
    """:func:`old_bounds` of every numeric column under the fit's budget split."""
    delta = default_delta(len(prepared.frame))
    _, rho, _ = budget.private_budget(epsilon, delta, False, prepared.schema)
    plan = domain.domain_plan(prepared.schema, False, rho)
    matrix = TableEncoder(prepared.schema).encode(prepared.frame)
    rng = np.random.default_rng(seed)
    return {
        prepared.schema.modelled[j].name: old_bounds(matrix[:, j], plan.bounds_sigma, rng)
        for j in plan.need_bounds
    }


def measure_bounds() -> dict:
    out: dict = {}
    for name, epsilon in RUNS:
        dataset = get_dataset(name)
        train, _ = split_train_holdout(dataset.load(), dataset.target)
        prepared = prepare(train, target=dataset.target)
        matrix = TableEncoder(prepared.schema).encode(prepared.frame)
        names = [c.name for c in prepared.schema.modelled]
        release = domain.released_bounds
        runs = {  # the same budget split and histogram noise for new and hist
            "new": [release(prepared, epsilon, None, s) for s in SEEDS],
            "hist": [release(prepared, epsilon, None, s, widths=(1,)) for s in SEEDS],
            "old": [old_release(prepared, epsilon, s) for s in SEEDS],
        }
        columns = {}
        for column in runs["new"][0]:
            x = matrix[:, names.index(column)]
            x = x[np.isfinite(x)]
            row: dict = {"rows": len(x), "min": float(x.min()), "max": float(x.max())}
            for which, seeds in runs.items():
                found = [s[column] for s in seeds if s[column] is not None]
                row[which] = {
                    "refused": len(seeds) - len(found),
                    "released": found,
                    "median_low": float(np.median([f[0] for f in found])) if found else None,
                    "median_high": float(np.median([f[1] for f in found])) if found else None,
                    "widening": [(f[1] - f[0]) / max(x.max() - x.min(), 1e-12) for f in found],
                    "inside": [float(((x >= f[0]) & (x <= f[1])).mean()) for f in found],
                }
            columns[column] = row
        key = f"{name} epsilon={epsilon:g}"
        out[key] = {"training_rows": len(prepared.frame), "epsilon": epsilon, "columns": columns}
    return out


def measure_utility() -> dict:
    """TSTR/TRTR at epsilon = 1 without a schema, new bounds and hist (noise seed 0)."""
    results: dict = {}
    for name in ("nhefs", "icu"):
        dataset = get_dataset(name)
        train, holdout = split_train_holdout(dataset.load(), dataset.target)
        for generator in ("dp_copula", "aim"):
            for which in ("new", "hist"):
                key = f"{name}/{generator}/{which}"
                real_bounds = domain.dp_bounds
                if which == "hist":  # the fit looks dp_bounds up at call time
                    domain.dp_bounds = partial(real_bounds, widths=(1,))  # type: ignore[assignment]
                started = time.perf_counter()
                try:
                    model = get_generator(generator, epsilon=EPSILON, noise_seed=0)
                    model.fit(train, target=dataset.target)
                    synthetic = model.sample(len(train), seed=0)
                    result = evaluate(
                        train, synthetic, holdout=holdout, schema=model.schema_,
                        target=model.schema_.target, seed=0, dp_budget=model.dp_budget_,
                    )  # fmt: skip
                    results[key] = {"ratio": result.summary["ratio"]}
                except HealthForgeError as error:
                    results[key] = {"refused": str(error)}
                finally:
                    domain.dp_bounds = real_bounds
                results[key]["seconds"] = round(time.perf_counter() - started, 1)
                print(key, results[key], flush=True)
    return results


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _summary(result: dict, key: str, pick, fmt: str) -> str:  # type: ignore[no-untyped-def]
    values = result[key]
    return f"{np.median(values):{fmt}} ({pick(values):{fmt}})" if values else "—"


def markdown(bounds: dict, utility: dict | None) -> str:
    lines = [
        "# DP numeric bounds without a schema",
        "",
        "`benchmarks/bench_dp_bounds.py`: CLI 80% training split (seed 0), default delta,",
        f"{len(SEEDS)} noise seeds; all three at the fit's zCDP cost per column. **new** =",
        "noisy histogram on the public 1-2-5 grid read by the window scan (widths",
        f"{', '.join(map(str, bounds.BOUNDS_WIDTHS))} bins; `bounds.dp_bounds`), **hist** =",
        "the same noisy histogram read bin by bin (the release before the scan), **old** =",
        "exponential mechanism on the flat 1e-3..1e9 grid. *widening* = released width /",
        "real width (median over released seeds; max in brackets); *inside* = share of",
        "training values inside the released range (median; min in brackets). *refused* =",
        "seeds where nothing cleared its threshold (a fit would stop, naming the column).",
        "",
    ]
    for name, data in bounds.items():
        lines += [
            f"## {name} ({data['training_rows']} training rows)",
            "",
            "| column | real min | real max | new low | new high | new refused | new inside "
            "| new widening | hist refused | hist inside | hist widening | old widening |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for column, row in data["columns"].items():
            new, hist, old = row["new"], row["hist"], row["old"]
            lines.append(
                f"| {column} | {_fmt(row['min'])} | {_fmt(row['max'])} "
                f"| {_fmt(new['median_low'])} | {_fmt(new['median_high'])} "
                f"| {new['refused']}/{len(SEEDS)} | {_summary(new, 'inside', min, '.2f')} "
                f"| {_summary(new, 'widening', max, '.2f')} "
                f"| {hist['refused']}/{len(SEEDS)} | {_summary(hist, 'inside', min, '.2f')} "
                f"| {_summary(hist, 'widening', max, '.2f')} "
                f"| {np.median(old['widening']):.3g} |"
            )
        lines.append("")
    if utility:
        lines += [
            "## TSTR/TRTR at epsilon = 1 without a schema (noise seed 0)",
            "",
            "`evaluate(train, synthetic, holdout, schema=model.schema_, target, seed=0)` as",
            "`generate --evaluate` calls it; synthetic rows = training rows.",
            "",
            "| dataset / generator / bounds | TSTR/TRTR | seconds |",
            "|---|---|---|",
        ]
        for key, value in utility.items():
            shown = (
                _fmt(value.get("ratio"))
                if "ratio" in value
                else "refused: " + value["refused"].split(" under")[0]
            )
            lines.append(f"| {key} | {shown} | {value['seconds']} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    bounds = measure_bounds()
    utility = measure_utility() if "--utility" in argv else None
    OUT.mkdir(exist_ok=True)
    (OUT / "dp_bounds.json").write_text(
        json.dumps(
            {"widths": list(bounds.BOUNDS_WIDTHS), "bounds": bounds, "utility": utility}, indent=1
        )
    )
    (OUT / "dp_bounds.md").write_text(markdown(bounds, utility))
    print(markdown(bounds, utility))


if __name__ == "__main__":
    main(sys.argv[1:])
