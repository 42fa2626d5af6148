"""Pass / warn / fail for each headline metric, from one table of thresholds.

A metric passes when it is at least (or at most) the pass threshold, warns when it is
within the warn threshold, and fails otherwise. The threshold text shown to users is
generated from the same numbers, so the report can never disagree with the verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

COPYING = "too close to the training rows: possible copying"
INCONCLUSIVE = "inconclusive: too few rows to tell, the interval reaches the fail zone"


def detection_floor(summary: dict[str, Any]) -> float:
    """Lowest detection AUC that is still sampling noise around 0.5, for this table size.

    A classifier telling training rows from synthetic rows scores well below 0.5 only when
    synthetic rows repeat training rows (each copy is learnt with the opposite label):
    measured on 2,250 training rows, exact copies score 0.10, half copies 0.33, while a
    fresh sample scores 0.50-0.51 and real held-out rows 0.47-0.48 (stratified
    cross-validation biases a null AUC slightly below 0.5). With n rows per side the
    null AUC's standard error is sqrt((2n + 1) / (12 n^2)) (Mann-Whitney); the floor is
    0.5 minus 3 standard errors, and at least 0.05 below 0.5 for that bias, so a
    generator drawing new rows is flagged by chance well under 1% of the time.
    """
    from healthforge.evaluation.fidelity import MAX_DETECTION_ROWS

    sizes = [summary.get("rows_real"), summary.get("rows_synthetic")]
    margin = 0.05
    if all(isinstance(k, int) and k > 0 for k in sizes):
        n = min(*sizes, MAX_DETECTION_ROWS)
        margin = max(margin, 3 * math.sqrt((2 * n + 1) / (12 * n * n)))
    return 0.5 - margin


def mia_interval(summary: dict[str, Any]) -> list[float] | None:
    """The 95% interval of the membership-inference AUC (Hanley-McNeil; see
    :func:`healthforge.evaluation.privacy.auc_interval`), or ``None``.

    On small holdouts the attack's AUC is mostly noise: ICU keeps 20 non-members, and
    over 20 seeded splits ``independent`` and ``dp_copula`` at epsilon 1 scored AUCs with a
    standard deviation of about 0.07 (``benchmarks/results/mia_verdict.md``), so a point
    estimate above 0.60 says little. The verdict is read off the interval instead.
    """
    ci = lookup(summary, "privacy.mia_auc_ci")
    return None if ci is None else [float(ci[0]), float(ci[1])]


@dataclass(frozen=True)
class Threshold:
    metric: str  # dotted path into the summary
    higher_is_better: bool
    passing: float
    warning: float
    why: str
    # a second, lower side for a lower-is-better metric: below floor(summary) it fails
    floor: Callable[[dict[str, Any]], float] | None = None
    floor_verdict: str = ""
    # a confidence interval of the value: the status is read off the bound nearest to
    # passing (only evidence past a threshold counts); when that bound passes and the far
    # bound fails, the interval cannot tell: warn, with the INCONCLUSIVE verdict
    interval: Callable[[dict[str, Any]], list[float] | None] | None = None

    def status(self, value: float) -> str:
        if self.higher_is_better:
            return "pass" if value >= self.passing else "warn" if value >= self.warning else "fail"
        return "pass" if value <= self.passing else "warn" if value <= self.warning else "fail"

    @property
    def text(self) -> str:
        op = ">=" if self.higher_is_better else "<="
        if self.passing == self.warning == 0 and not self.higher_is_better:
            return "== 0 pass, else fail"
        text = f"{op} {self.passing:.2f} pass, {op} {self.warning:.2f} warn"
        if self.interval is not None:
            side = "upper" if self.higher_is_better else "lower"
            text += f", judged on the {side} bound of the 95% interval"
        return text


# duplicates: a table, one Threshold per metric; its rows look alike, no logic repeats
THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("fidelity.column_similarity", True, 0.90, 0.80, "1 - KS / TV distance per column"),
    Threshold("fidelity.pair_similarity", True, 0.90, 0.80, "dependence between columns kept"),
    Threshold(
        "fidelity.detection_auc",
        False,
        0.60,
        0.80,
        "a classifier cannot tell them apart",
        floor=detection_floor,
        floor_verdict=COPYING,
    ),
    Threshold("fidelity.alpha_precision", True, 0.80, 0.60, "synthetic rows look realistic"),
    Threshold("fidelity.beta_recall", True, 0.80, 0.60, "synthetic rows cover the real variety"),
    Threshold("fidelity.authenticity", True, 0.40, 0.20, "synthetic rows are not near-copies"),
    Threshold("fidelity.validity.invalid_rate", False, 0.01, 0.05, "rows obey the schema"),
    Threshold("utility.ratio", True, 0.90, 0.75, "TSTR / TRTR of the XGBoost model"),
    Threshold("utility.importance_rank_agreement", True, 0.70, 0.40, "same features matter"),
    Threshold("privacy.exact_match_rate", False, 0.0, 0.0, "no training row is reproduced"),
    Threshold("privacy.dcr_ratio", True, 0.90, 0.70, "as far from training rows as new patients"),
    Threshold("privacy.dcr_share_below_holdout_p5", False, 0.10, 0.20, "about 0.05 is ideal"),
    Threshold(
        "privacy.nndr_ratio", True, 0.90, 0.70, "neighbourhoods as ambiguous as for new rows"
    ),
    Threshold(
        "privacy.mia_auc",
        False,
        0.55,
        0.60,
        "membership cannot be inferred",
        interval=mia_interval,
    ),
    Threshold("privacy.singling_out_risk", False, 0.10, 0.30, "excess over the holdout"),
    Threshold("privacy.linkability_risk", False, 0.10, 0.30, "excess over the holdout"),
    Threshold("privacy.inference_risk", False, 0.10, 0.30, "excess over the holdout"),
    Threshold(
        "privacy.k_anonymity.excess_share_k_below_5", False, 0.05, 0.20, "rarer than real data"
    ),
    Threshold("fairness.worst_gap.column_similarity", False, 0.10, 0.20, "fidelity across groups"),
    Threshold("fairness.worst_gap.ratio", False, 0.15, 0.30, "utility across groups"),
)


def lookup(summary: dict[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` of the summary, or ``None``."""
    node: Any = summary
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def score(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``scores`` list: one entry per headline metric that has a value."""
    out = []
    for t in THRESHOLDS:
        value = lookup(summary, t.metric)
        if value is None:
            continue
        entry = {
            "metric": t.metric,
            "value": value,
            "status": t.status(float(value)),
            "threshold": t.text,
            "higher_is_better": t.higher_is_better,
            "verdict": None,  # a plain-language reading when the status alone would mislead
        }
        if t.interval is not None and (ci := t.interval(summary)) is not None:
            entry["interval"] = ci
            near, far = (ci[1], ci[0]) if t.higher_is_better else (ci[0], ci[1])
            entry["status"] = t.status(near)
            if entry["status"] == "pass" and t.status(far) == "fail":
                entry["status"], entry["verdict"] = "warn", INCONCLUSIVE
        if t.floor is not None:
            floor = t.floor(summary)
            entry["lower_threshold"] = f"< {floor:.2f} fail: {t.floor_verdict}"
            if float(value) < floor:
                entry["status"], entry["verdict"] = "fail", t.floor_verdict
        out.append(entry)
    return out
