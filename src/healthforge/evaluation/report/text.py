"""Report text: limits, colours, section titles, metric help and labels, formatting."""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np

MAX_PLOTTED_COLUMNS = 30
MAX_HEATMAP_COLUMNS = 30
MAX_BINS = 40
MAX_CATEGORIES_SHOWN = 20
MAX_INTEGER_LEVELS = 40  # integers with at most this many values are drawn as bars
MAX_POINTS = 5_000  # upper bound on values behind any one plotted series

REAL_COLOUR = "#1f5f99"
SYNTHETIC_COLOUR = "#e07b39"
HOLDOUT_COLOUR = "#5a9e6f"
STATUS_COLOURS = {"pass": "#1e7b3c", "warn": "#b7791f", "fail": "#c53030"}
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

SECTIONS = ("fidelity", "utility", "privacy", "fairness")
SECTION_TITLES = {
    "fidelity": "Fidelity - does the synthetic data look like the real data?",
    "utility": "Utility - can models trained on it be used on real patients?",
    "privacy": "Privacy - does it protect the people in the real data?",
    "fairness": "Fairness - does it serve every subgroup alike?",
}

# One plain-language line per metric: what it measures and what good looks like.
METRIC_HELP: dict[str, str] = {
    "fidelity.column_similarity": (
        "How alike each column's distribution is in real and synthetic data (1 minus the KS "
        "or total-variation distance), averaged over columns. 1 is identical; higher is better."
    ),
    "fidelity.pair_similarity": (
        "How well relationships between pairs of columns (correlations, associations) are "
        "kept. 1 means every pairwise relationship is reproduced."
    ),
    "fidelity.pmse": (
        "Propensity mean squared error: how well a classifier separates real from synthetic "
        "rows. 0 means it cannot separate them at all; lower is better."
    ),
    "fidelity.detection_auc": (
        "AUC of a model trained to tell real rows from synthetic ones. 0.5 means it is "
        "guessing (good); 1.0 means every synthetic row is spotted. Well below 0.5 means "
        "synthetic rows repeat training rows (possible copying): that fails too."
    ),
    "fidelity.alpha_precision": (
        "Share of synthetic rows that look like typical real rows (fall inside the real "
        "data's support). Higher is better."
    ),
    "fidelity.beta_recall": (
        "Share of the real data's variety that the synthetic data covers - low values mean "
        "rare kinds of patients are missing. Higher is better."
    ),
    "fidelity.authenticity": (
        "Share of synthetic rows that are new records rather than near-copies of a real "
        "training row. Higher is better."
    ),
    "fidelity.validity.invalid_rate": (
        "Share of synthetic rows that break the schema (values out of range, unknown "
        "categories). 0 is best."
    ),
    "utility.trtr": (
        "Train on real, test on real: the model's score when trained on the real training "
        "data and tested on the holdout. The yardstick, not a target."
    ),
    "utility.tstr": (
        "Train on synthetic, test on real: the same model trained on synthetic data and "
        "tested on the real holdout. Close to TRTR is good."
    ),
    "utility.ratio": (
        "TSTR divided by TRTR: how much predictive value survives. 1.0 means synthetic data "
        "trains models as well as the real data does."
    ),
    "utility.importance_rank_agreement": (
        "Whether models trained on synthetic and on real data rely on the same features "
        "(rank correlation of feature importances). 1 is perfect agreement."
    ),
    "privacy.exact_match_rate": (
        "Share of synthetic rows that copy a real training row exactly. Should be about 0 - "
        "no higher than what chance produces for unseen real people."
    ),
    "privacy.dcr_ratio": (
        "Median distance from synthetic rows to their closest training row, divided by the "
        "same for real holdout rows. 1 or more means synthetic rows are no closer to "
        "training records than unseen people are."
    ),
    "privacy.dcr_share_below_holdout_p5": (
        "Share of synthetic rows closer to a training row than 95% of holdout rows are. "
        "About 0.05 is what chance gives; much more suggests memorisation."
    ),
    "privacy.nndr_ratio": (
        "Nearest-neighbour distance ratio compared with the holdout. Well below 1 means "
        "synthetic rows sit unusually close to single real records."
    ),
    "privacy.mia_auc": (
        "AUC of a membership-inference attack guessing whether a person was in the "
        "training data. 0.5 means the attacker is guessing (good). Judged on its 95% "
        "interval: on a small holdout the interval is wide and the check says inconclusive."
    ),
    "privacy.singling_out_risk": (
        "Risk that an attacker can single out one real person using the synthetic data "
        "(Giomi et al., 2023). 0 is best."
    ),
    "privacy.linkability_risk": (
        "Risk that an attacker can link two partial records of the same real person through "
        "the synthetic data. 0 is best."
    ),
    "privacy.inference_risk": (
        "Risk that an attacker can infer a secret attribute of a real person from the "
        "synthetic data. 0 is best."
    ),
    "privacy.k_anonymity": (
        "Size of the smallest group of rows sharing the same quasi-identifiers (age, sex, "
        "postcode...). Larger groups hide individuals better."
    ),
    "privacy.k_anonymity.k_min": (
        "Size of the smallest group of rows sharing the same quasi-identifiers. Larger is "
        "better; 1 means someone is unique."
    ),
    "privacy.k_anonymity.share_k_below_5": (
        "Share of rows in groups of fewer than 5 on the quasi-identifiers. Lower is better."
    ),
    "privacy.k_anonymity.excess_share_k_below_5": (
        "How many more synthetic rows than real rows sit in groups of fewer than 5 on the "
        "quasi-identifiers. With many quasi-identifiers most real people are unique too; 0 "
        "means the synthetic data is no more identifying than the real data."
    ),
    "privacy.dp_budget": (
        "Differential-privacy budget (epsilon) the generator spent. Smaller means a "
        "stronger mathematical guarantee."
    ),
    "fairness.worst_gap": (
        "Largest difference in this metric between subgroups. Small gaps mean the synthetic "
        "data is about as good for every group."
    ),
    "fairness": (
        "Per-subgroup comparison of the synthetic data's quality. Small gaps between groups "
        "are good."
    ),
}

PLOT_HELP = {
    "marginals": (
        "Each panel compares the share of rows at each value (bars for categories, binned "
        "counts for numbers) in the real and the synthetic data. Good synthetic data "
        "overlaps the real bars closely; the number in each title is the column similarity "
        "(1 = identical)."
    ),
    "correlation": (
        "Rank (Spearman) correlation between columns in the real data, the synthetic data, "
        "and the absolute difference between the two. Good synthetic data has a pale "
        "difference map: the same variables move together."
    ),
    "dependence": (
        "How strongly each pair of columns is related, in the real data, the synthetic data, "
        "and the absolute difference (the basis of pair similarity). Pairs of numbers use "
        "rank (Spearman) correlation, -1 to 1; pairs involving a category use Cramér's V or "
        "the correlation ratio, 0 to 1. Good synthetic data has a pale difference map."
    ),
    "dcr": (
        "Distance from each synthetic row to its closest real training row, next to the same "
        "distance for real holdout rows the generator never saw. If the synthetic curve sits "
        "to the left of the holdout curve - many very small distances - the generator is "
        "copying training records."
    ),
    "fairness": (
        "Quality of the synthetic data within each subgroup. Look for groups that are "
        "under-represented or where models trained on synthetic data do much worse."
    ),
    "utility": (
        "Score of each model trained on real data (TRTR) and on synthetic data (TSTR), both "
        "tested on the real holdout. Bars of similar height are good."
    ),
}

# Where the engine may keep plot data in ``result.details``; first match wins.
_DCR_SYNTHETIC_KEYS = ("synthetic_to_train", "synthetic", "dcr_synthetic", "synth")
_DCR_HOLDOUT_KEYS = ("holdout_to_train", "holdout", "dcr_holdout")


# -- formatting ------------------------------------------------------------------------


def metric_help(metric: str) -> str:
    """The one-line explanation of ``metric`` (longest known prefix), or ''."""
    parts = metric.split(".")
    for n in range(len(parts), 0, -1):
        text = METRIC_HELP.get(".".join(parts[:n]))
        if text:
            return text
    return ""


_LABELS = {
    "privacy.k_anonymity.k_min": "Smallest group sharing quasi-identifiers (k)",
    "privacy.k_anonymity.share_k_below_5": "Rows in groups smaller than 5",
    "privacy.k_anonymity.excess_share_k_below_5": "Small quasi-identifier groups beyond real",
    "utility.ratio": "TSTR ÷ TRTR",
    "utility.trtr": "TRTR (trained on real)",
    "utility.tstr": "TSTR (trained on synthetic)",
    "privacy.dcr_share_below_holdout_p5": "Share closer than holdout's 5th percentile",
    "privacy.mia_auc": "Membership-inference AUC",
    "fidelity.validity.invalid_rate": "Invalid rows",
}


def metric_label(metric: str) -> str:
    if metric in _LABELS:
        return _LABELS[metric]
    words = {
        "auc": "AUC",
        "dcr": "DCR",
        "pmse": "pMSE",
        "tstr": "TSTR",
        "trtr": "TRTR",
        "nndr": "NNDR",
        "mia": "MIA",
        "dp": "DP",
        "p5": "5th pct",
    }
    parts = metric.split(".")
    if parts and parts[0] in SECTIONS and len(parts) > 1:
        parts = parts[1:]
    text = " · ".join(" ".join(words.get(w, w) for w in part.split("_")) for part in parts if part)
    return text[:1].upper() + text[1:]


def pretty_threshold(text: Any) -> str:
    return str(text or "").replace(">=", "≥").replace("<=", "≤")


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        v = float(value)
        if not math.isfinite(v):
            return str(v)
        if v != 0 and abs(v) < 0.001:
            return f"{v:.1e}"
        return f"{v:.3f}" if abs(v) < 100 else f"{v:,.0f}"
    if isinstance(value, list | tuple):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _rgba(colour: str, alpha: float) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _count(value: Any) -> str:
    return f"{int(value):,}" if isinstance(value, int | np.integer) else "?"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)
