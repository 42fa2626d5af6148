"""Pass / warn / fail for each headline metric, from one table of thresholds.

A metric passes when it is at least (or at most) the pass threshold, warns when it is
within the warn threshold, and fails otherwise. The threshold text shown to users is
generated from the same numbers, so the report can never disagree with the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Threshold:
    metric: str  # dotted path into the summary
    higher_is_better: bool
    passing: float
    warning: float
    why: str

    def status(self, value: float) -> str:
        if self.higher_is_better:
            return "pass" if value >= self.passing else "warn" if value >= self.warning else "fail"
        return "pass" if value <= self.passing else "warn" if value <= self.warning else "fail"

    @property
    def text(self) -> str:
        op = ">=" if self.higher_is_better else "<="
        if self.passing == self.warning == 0 and not self.higher_is_better:
            return "== 0 pass, else fail"
        return f"{op} {self.passing:.2f} pass, {op} {self.warning:.2f} warn"


THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("fidelity.column_similarity", True, 0.90, 0.80, "1 - KS / TV distance per column"),
    Threshold("fidelity.pair_similarity", True, 0.90, 0.80, "dependence between columns kept"),
    Threshold("fidelity.detection_auc", False, 0.60, 0.80, "a classifier cannot tell them apart"),
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
    Threshold("privacy.mia_auc", False, 0.55, 0.60, "membership cannot be inferred"),
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
        out.append(
            {
                "metric": t.metric,
                "value": value,
                "status": t.status(float(value)),
                "threshold": t.text,
                "higher_is_better": t.higher_is_better,
            }
        )
    return out
