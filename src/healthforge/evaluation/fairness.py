"""Fairness: is the synthetic data as good for every group of patients?

Rows are split into groups by one column (``fairness_by``): its categories for a
discrete column, quartiles of the real data for a numeric one, with "missing" as a
group of its own. Each group gets its representation (share of rows, real vs synthetic),
fidelity (column similarity, detection AUC) and utility (the XGBoost TRTR and TSTR models
of the utility block, scored on the holdout rows of the group). ``worst_gap`` is the
largest difference between two groups for each metric.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from healthforge.evaluation.common import SkipMetric, Skips, number
from healthforge.evaluation.features import UNSEEN, FeatureSpace
from healthforge.evaluation.fidelity import column_similarities, detection_auc
from healthforge.evaluation.utility import UtilityOutcome

MAX_GROUPS = 20  # the largest groups of the real data; the rest are listed as skipped
MIN_ROWS_SIMILARITY = 20
MIN_ROWS_DETECTION = 50
MIN_ROWS_UTILITY = 20
GROUP_DETECTION_ROWS = 5_000  # per side; a per-group breakdown needs less precision
GAP_METRICS = ("column_similarity", "detection_auc", "trtr", "tstr", "ratio")


def group_labels(
    space: FeatureSpace, by: str, codes: dict[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], list[str]]:
    """A group label per row of each table (object arrays, shape ``(n_rows,)``), and all
    possible labels in their natural order."""
    j = space.index(by)
    column = space.columns[j]
    out: dict[str, np.ndarray] = {}
    if column.is_discrete:
        names = np.array(
            [str(c) for c in column.categories or []] + ["missing", "other"], dtype=object
        )
        k = len(column.categories or [])
        for name, x in codes.items():
            level = np.where(np.isnan(x[:, j]), k, np.where(x[:, j] == UNSEEN, k + 1, x[:, j]))
            out[name] = names[np.nan_to_num(level).astype(int)]
        return out, list(names)
    real = codes["real"][:, j]
    finite = real[np.isfinite(real)]
    edges = np.unique(np.quantile(finite, [0.25, 0.5, 0.75]))
    bounds = np.r_[finite.min(), edges, finite.max()]
    names = np.array(
        [f"Q{i + 1} [{bounds[i]:.4g}, {bounds[i + 1]:.4g}]" for i in range(len(edges) + 1)]
        + ["missing"],
        dtype=object,
    )
    for name, x in codes.items():
        values = x[:, j]
        b = np.searchsorted(edges, np.nan_to_num(values), side="left")
        out[name] = names[np.where(np.isnan(values), len(names) - 1, b)]
    return out, list(names)


def evaluate_fairness(
    space: FeatureSpace,
    by: str,
    codes: dict[str, np.ndarray],
    utility: UtilityOutcome,
    skips: Skips,
    n_estimators: int,
    seed: int,
) -> dict[str, Any]:
    """The ``fairness`` block: ``{by, groups{label: metrics}, worst_gap{metric: gap}}``."""
    labels, natural = group_labels(space, by, codes)
    # Natural order (categories, quartiles, then missing/other) of the groups seen in
    # either table; only the MAX_GROUPS largest (by real rows) are evaluated.
    seen = set(labels["real"]) | set(labels["synthetic"])
    ordered = [v for v in natural if v in seen]
    size = {
        v: (int((labels["real"] == v).sum()), int((labels["synthetic"] == v).sum()))
        for v in ordered
    }
    largest = set(sorted(ordered, key=lambda v: (-size[v][0], -size[v][1]))[:MAX_GROUPS])
    others = [j for j in range(len(space.columns)) if space.columns[j].name != by]
    sub_space = FeatureSpace(
        columns=[space.columns[j] for j in others],
        center=space.center[others],
        scale=space.scale[others],
        has_missing=space.has_missing[others],
    )
    groups: dict[str, dict[str, Any]] = {}
    for value in ordered:
        name = f"fairness.groups.{value}"
        if value not in largest:
            skips.add(name, f"only the {MAX_GROUPS} largest groups are evaluated")
            continue
        in_real, in_synth = labels["real"] == value, labels["synthetic"] == value
        entry: dict[str, Any] = {
            "share_real": float(in_real.mean()),
            "share_synthetic": float(in_synth.mean()),
            "column_similarity": None,
            "detection_auc": None,
            "tstr": None,
            "trtr": None,
            "ratio": None,
        }
        real_g, synth_g = codes["real"][in_real][:, others], codes["synthetic"][in_synth][:, others]
        n = min(len(real_g), len(synth_g))
        if n >= MIN_ROWS_SIMILARITY and others:
            sims = column_similarities(sub_space, real_g, synth_g)
            entry["column_similarity"] = float(np.mean([s["similarity"] for s in sims.values()]))
        else:
            skips.add(
                f"{name}.column_similarity", f"fewer than {MIN_ROWS_SIMILARITY} rows on a side"
            )
        if n >= MIN_ROWS_DETECTION and others:
            try:
                entry["detection_auc"] = detection_auc(
                    real_g, synth_g, n_estimators, seed, GROUP_DETECTION_ROWS, n_splits=3
                )
            except SkipMetric as reason:
                skips.add(f"{name}.detection_auc", str(reason))
        else:
            skips.add(f"{name}.detection_auc", f"fewer than {MIN_ROWS_DETECTION} rows on a side")
        _group_utility(entry, name, value, labels, utility, skips)
        groups[str(value)] = entry
    worst_gap: dict[str, float | None] = {}
    for metric in GAP_METRICS:
        found = [g[metric] for g in groups.values() if g[metric] is not None]
        worst_gap[metric] = float(max(found) - min(found)) if len(found) >= 2 else None
        if worst_gap[metric] is None:
            skips.add(f"fairness.worst_gap.{metric}", "needs the metric in at least two groups")
    return {"by": by, "groups": groups, "worst_gap": worst_gap}


def _group_utility(
    entry: dict[str, Any],
    name: str,
    value: str,
    labels: dict[str, np.ndarray],
    utility: UtilityOutcome,
    skips: Skips,
) -> None:
    if utility.score is None or utility.holdout_rows is None or "holdout" not in labels:
        for key in ("trtr", "tstr", "ratio"):
            skips.add(f"{name}.{key}", "needs a target and a holdout")
        return
    member = labels["holdout"][utility.holdout_rows] == value
    if member.sum() < MIN_ROWS_UTILITY:
        for key in ("trtr", "tstr", "ratio"):
            skips.add(f"{name}.{key}", f"fewer than {MIN_ROWS_UTILITY} holdout rows in the group")
        return
    y = utility.holdout_y[member]
    for key in ("trtr", "tstr"):
        if key not in utility.predictions:
            skips.add(f"{name}.{key}", "the utility model could not be trained")
            continue
        entry[key] = number(utility.score(y, utility.predictions[key][member]))
        if entry[key] is None:
            skips.add(f"{name}.{key}", "the score is undefined in this group (e.g. one class)")
    if entry["trtr"] is not None and entry["tstr"] is not None and entry["trtr"] > 0:
        entry["ratio"] = number(entry["tstr"] / entry["trtr"])
    else:
        skips.add(f"{name}.ratio", "needs both TRTR and TSTR scores in the group")
