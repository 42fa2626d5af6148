"""The statistics of the augmentation experiment: per-repeat AUROCs -> intervals -> verdicts.

Pure functions of the ``scores`` table that :mod:`.experiment` measures (one row per
repeat, model, arm and group): the mean and 95% interval per (model, arm, group)
(:func:`_summarise`), the paired differences (b)-(a) and (c)-(a) with their verdicts
(:func:`_differences`), and the conclusion in words (:func:`_conclusion`). Nothing here
fits or draws anything, so it is tested on constructed tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

ARMS = ("real", "augmented", "synthetic")
ARM_LABELS = {
    "real": "(a) real only",
    "augmented": "(b) real + synthetic",
    "synthetic": "(c) synthetic only",
}
OVERALL = "overall"
# why a group has no AUROC in a repeat (stored per row of ``scores``)
NO_HOLDOUT = "0 holdout rows"
ONE_CLASS = "a single outcome class among its holdout rows"
AUROC_RANGE = (0.0, 1.0)
DIFFERENCE_RANGE = (-1.0, 1.0)  # a difference of two AUROCs


@dataclass(frozen=True)
class Interval:
    """Mean of per-repeat values with its 95% interval, and why it is degenerate if it is."""

    mean: float
    low: float
    high: float
    n: int
    note: str  # "" for an ordinary interval


def mean_interval(
    values: np.ndarray, bounds: tuple[float, float], same: str | None = None
) -> Interval:
    """Mean and 95% t-interval of ``values`` (NaN dropped), cut to ``bounds``.

    The metric cannot leave ``bounds`` (AUROC in [0, 1], a difference of AUROCs in
    [-1, 1]), so the true mean lies inside them; intersecting a 95% interval with the
    range therefore keeps its coverage exactly, keeps the mean inside it, and never
    prints an impossible AUROC such as 1.14. (A percentile bootstrap over 5 repeats
    covers far less than 95%; a logit interval is an interval for another mean.)
    Zero-width and missing intervals carry a ``note`` saying why: ``same`` (or a
    generic text) when every repeat gave the same value, "not estimable" when fewer
    than 2 repeats could be scored.
    """
    from scipy.stats import t

    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    n = len(values)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, "not estimable: n = 0, never scored")
    mean = float(np.clip(values.mean(), *bounds))
    if n < 2:
        return Interval(mean, math.nan, math.nan, n, "not estimable: n = 1, scored once")
    spread = float(values.std(ddof=1))
    if spread == 0.0:
        note = same or f"the same value in all {n} repeats, so the interval has zero width"
        return Interval(mean, mean, mean, n, note)
    half = float(t.ppf(0.975, n - 1) * spread / math.sqrt(n))
    return Interval(mean, max(mean - half, bounds[0]), min(mean + half, bounds[1]), n, "")


def _summarise(scores: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (model, arm, group), part in scores.groupby(["model", "arm", "group"], sort=False):
        ci = mean_interval(
            part["auroc"].to_numpy(dtype=float),
            AUROC_RANGE,
            same=f"the same AUROC in all {part['auroc'].notna().sum()} repeats "
            "(a group with few holdout cases has few possible AUROC values)",
        )
        out.append(
            {
                "model": model,
                "arm": arm,
                "group": group,
                "mean": ci.mean,
                "low": ci.low,
                "high": ci.high,
                "n": ci.n,
                "interval_note": ci.note,
            }
        )
    return pd.DataFrame(out)


SAME_DIFFERENCE = {
    "augmented": "identical in every repeat: the augmented rows did not change this model's "
    "AUROC for the group",
    "synthetic": "identical in every repeat: the synthetic-only model scored the group "
    "exactly as the real-only one",
}


def _differences(scores: pd.DataFrame) -> pd.DataFrame:
    """Paired differences (b)-(a), (c)-(a) per (model, group); every group gets a row,
    with n = 0 and verdict "unclear" when it was never scored."""
    out = []
    for (model, group), part in scores.groupby(["model", "group"], sort=False):
        by_arm = {
            arm: rows.set_index("repeat")["auroc"].astype(float)
            for arm, rows in part.groupby("arm", sort=False)
        }
        if "real" not in by_arm:
            continue
        for arm in ("augmented", "synthetic"):
            if arm not in by_arm:
                continue
            diff = (by_arm[arm] - by_arm["real"]).to_numpy(dtype=float)
            ci = mean_interval(diff, DIFFERENCE_RANGE, same=SAME_DIFFERENCE[arm])
            out.append(
                {
                    "model": model,
                    "group": group,
                    "comparison": f"{ARM_LABELS[arm][:3]} - (a)",
                    "mean": ci.mean,
                    "low": ci.low,
                    "high": ci.high,
                    "n": ci.n,
                    "verdict": _verdict(ci),
                    "interval_note": ci.note,
                }
            )
    return pd.DataFrame(out)


def _verdict(ci: Interval) -> str:
    if not np.isfinite(ci.low):
        return "unclear"
    if ci.low > 0:
        return "better"
    if ci.high < 0:
        return "worse"
    return "no measurable difference"


def _unscored(scores: pd.DataFrame) -> dict[tuple[str, str], dict[str, int]]:
    """Per (model, group): in how many repeats, and why, (b)-(a) could not be computed."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    pair = scores[scores["arm"].isin(["real", "augmented"])]
    for (model, group, _), rows in pair.groupby(["model", "group", "repeat"], sort=False):
        reasons = [
            f"a single outcome class among its {int(k)} holdout rows" if r == ONE_CLASS else r
            for r, k in zip(rows["reason"], rows["holdout_rows"], strict=True)
            if isinstance(r, str)
        ]
        if reasons or len(rows) < 2:
            why = reasons[0] if reasons else "an arm could not be trained"
            counts = out.setdefault((model, group), {})
            counts[why] = counts.get(why, 0) + 1
    return out


def _conclusion(
    differences: pd.DataFrame,
    groups_added: list[str],
    balance: str,
    unscored: dict[tuple[str, str], dict[str, int]] | None = None,
    repeats: int | None = None,
) -> str:
    if differences.empty:
        return "No comparison could be made: no model could be trained and scored."
    unscored = unscored or {}
    repeats = repeats or int(differences["n"].max())
    aug = differences[differences["comparison"].str.startswith("(b)")]
    focus = aug[aug["group"].isin([*groups_added, OVERALL])]

    def where(group: Any) -> str:
        return "overall" if group == OVERALL else f"{balance}={group}"

    # a group with fewer than 2 paired repeats has no interval: its effect is unknown and it
    # must not be folded into "for no group did the interval lie above zero"
    scored = focus[focus["n"] >= 2]
    better = scored[scored["verdict"] == "better"]
    worse = scored[scored["verdict"] == "worse"]

    def name(row: pd.Series) -> str:
        interval = f"95% CI {row['low']:+.3f} to {row['high']:+.3f}"
        return f"{row['model']} {where(row['group'])} ({row['mean']:+.3f} AUROC, {interval})"

    parts = []
    scored_names = ", ".join(dict.fromkeys(where(g) for g in scored["group"]))
    if scored.empty:
        parts.append(
            "Augmentation's effect is unknown here: no augmented group could be scored in "
            "at least 2 repeats."
        )
    elif better.empty:
        parts.append(
            "Augmentation did not help here: for no model and none of the scored groups "
            f"({scored_names}) did the 95% confidence interval of the AUROC change (real + "
            "synthetic minus real only) lie above zero."
        )
    else:
        parts.append(
            "Augmentation helped for " + "; ".join(name(r) for _, r in better.iterrows()) + "."
        )
    if not worse.empty:
        parts.append("It hurt for " + "; ".join(name(r) for _, r in worse.iterrows()) + ".")
    parts.extend(_unscored_sentences(focus, unscored, repeats, where))
    same = focus[(focus["n"] >= 2) & (focus["low"] == focus["high"])]
    for _, row in same.iterrows():
        parts.append(
            f"{row['model']} {where(row['group'])}: (b)-(a) = {row['mean']:+.3f} with a "
            f"zero-width interval, {row['interval_note']}."
        )
    return " ".join(parts)


def _unscored_sentences(
    focus: pd.DataFrame,
    unscored: dict[tuple[str, str], dict[str, int]],
    repeats: int,
    where: Any,
) -> list[str]:
    """One sentence per group that some model could not score in some repeat."""
    by_group: dict[str, dict[str, list[str]]] = {}
    for _, row in focus.iterrows():
        n, counts = int(row["n"]), unscored.get((row["model"], row["group"]), {})
        if n >= repeats and not counts:
            continue
        why = "; ".join(f"{k} in {v}" if len(counts) > 1 else k for k, v in counts.items())
        if n == 0:
            text = f"not scored in any of {repeats} repeats"
        else:
            text = f"scored in only {n} of {repeats} repeats"
        text += f" — {why or 'no paired score'}"
        text += "; its effect is unknown" if n < 2 else "; its interval rests on those repeats"
        by_group.setdefault(row["group"], {}).setdefault(text, []).append(str(row["model"]))
    out = []
    models_total = focus["model"].nunique()
    for group, texts in by_group.items():
        for text, models in texts.items():
            who = "" if len(models) == models_total else f" ({', '.join(models)})"
            out.append(f"{where(group)}{who}: {text}.")
    return out


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for record in frame.to_dict(orient="records"):
        out.append(
            {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in record.items()
            }
        )
    return out
