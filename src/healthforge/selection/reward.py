"""Rewards (what a run earned) and priorities (what the user values).

A reward has three quality components in [0, 1] read from the evaluation suite's headline
figures, plus the fit time:

* fidelity = 1 - 2 |detection AUC - 0.5| (0.5: a classifier cannot tell synthetic from
  real), and 0 below the evaluation's copying floor for the table size
  (:func:`healthforge.evaluation.scoring.detection_floor`: a fail, "possible copying");
* utility = TSTR/TRTR, capped at 1 (above 1 is split noise, not a better model);
* privacy = mean of 1 - 2 max(0, MIA AUC - 0.5) and min(DCR ratio, 1), times
  (1 - exact-match rate).

Speed is not learnt: it follows from the expected fit time (:func:`speed_score`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from healthforge.errors import HealthForgeError

COMPONENTS = ("fidelity", "utility", "privacy")
PRIORITY_NAMES = ("fidelity", "utility", "privacy", "speed")
EMPHASIS = 3.0  # a named priority weighs this much against 1 for the others
SPEED_HORIZON_S = 3600.0  # a fit this long scores 0 on speed


def _clip(value: float) -> float:
    return min(max(value, 0.0), 1.0)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


@dataclass(frozen=True)
class Reward:
    """What one evaluated run earned; a component is None when it was not measured."""

    fidelity: float | None = None
    utility: float | None = None
    privacy: float | None = None
    fit_seconds: float | None = None

    def get(self, component: str) -> float | None:
        return getattr(self, component)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reward:
        return cls(**{k: _number(data.get(k)) for k in (*COMPONENTS, "fit_seconds")})

    @classmethod
    def from_metrics(
        cls,
        metrics: dict[str, Any],
        fit_seconds: float | None = None,
        training_rows: int | None = None,
        floor: float | None = None,
    ) -> Reward:
        """From the benchmark's flat metric names (``detection_auc``, ``utility_ratio``,
        ``mia_auc``, ``dcr_ratio``, ``exact_match_rate``). ``floor``: the detection AUC
        below which the evaluation fails a run as copying (default: the evaluation's
        floor for ``training_rows`` rows per side, 0.45 when unknown)."""
        detection = _number(metrics.get("detection_auc"))
        ratio = _number(metrics.get("utility_ratio"))
        if floor is None:
            from healthforge.evaluation.scoring import detection_floor

            rows = training_rows if isinstance(training_rows, int) and training_rows > 0 else 0
            floor = detection_floor({"rows_real": rows, "rows_synthetic": rows} if rows else {})
        fidelity = None
        if detection is not None:
            copying = detection < floor
            fidelity = 0.0 if copying else _clip(1.0 - 2.0 * abs(detection - 0.5))
        utility = None if ratio is None else _clip(ratio)
        parts = []
        mia = _number(metrics.get("mia_auc"))
        if mia is not None:
            parts.append(_clip(1.0 - 2.0 * max(0.0, mia - 0.5)))
        dcr = _number(metrics.get("dcr_ratio"))
        if dcr is not None:
            parts.append(_clip(dcr))
        privacy = None
        if parts:
            copies = _number(metrics.get("exact_match_rate")) or 0.0
            privacy = _clip(sum(parts) / len(parts) * (1.0 - copies))
        return cls(fidelity, utility, privacy, _number(fit_seconds))

    @classmethod
    def from_evaluation(cls, evaluation: Any, fit_seconds: float | None = None) -> Reward:
        """From an :class:`~healthforge.evaluation.evaluate.EvaluationResult` (or its
        ``summary`` dict)."""
        summary = getattr(evaluation, "summary", evaluation)
        if not isinstance(summary, dict):
            raise HealthForgeError("a reward needs an evaluation result or its summary")
        fidelity = summary.get("fidelity") or {}
        utility = summary.get("utility") or {}
        privacy = summary.get("privacy") or {}
        metrics = {
            "detection_auc": fidelity.get("detection_auc"),
            "utility_ratio": utility.get("ratio"),
            "mia_auc": privacy.get("mia_auc"),
            "dcr_ratio": privacy.get("dcr_ratio"),
            "exact_match_rate": privacy.get("exact_match_rate"),
        }
        from healthforge.evaluation.scoring import detection_floor

        return cls.from_metrics(metrics, fit_seconds, floor=detection_floor(summary))


def speed_score(seconds: float | None) -> float | None:
    """1 for an instant fit, 0.5 at about a minute, 0 at an hour (log scale)."""
    if seconds is None:
        return None
    return _clip(1.0 - math.log10(1.0 + seconds) / math.log10(1.0 + SPEED_HORIZON_S))


@dataclass(frozen=True)
class Priorities:
    """Weights of the reward components and an optional fit-time budget (seconds)."""

    fidelity: float = 1.0
    utility: float = 1.0
    privacy: float = 1.0
    time_budget_s: float | None = None
    speed: float = 0.5

    def __post_init__(self) -> None:
        for name in PRIORITY_NAMES:
            value = getattr(self, name)
            if _number(value) is None or value < 0:
                raise HealthForgeError(f"priority weight {name} must be a number >= 0")
        if sum(getattr(self, n) for n in PRIORITY_NAMES) <= 0:
            raise HealthForgeError("at least one priority weight must be above 0")
        budget = self.time_budget_s
        if budget is not None and (_number(budget) is None or budget <= 0):
            raise HealthForgeError("the time budget must be a positive number of seconds")

    @classmethod
    def from_names(
        cls, names: list[str] | tuple[str, ...] | None, time_budget_s: float | None = None
    ) -> Priorities:
        """Priorities where each named one (fidelity, utility, privacy, speed) weighs
        ``EMPHASIS`` times the others; no names: the defaults."""
        weights: dict[str, float] = {}
        for raw in names or []:
            name = raw.strip().lower()
            if name not in PRIORITY_NAMES:
                raise HealthForgeError(
                    f"unknown priority '{raw}'", f"choose from: {', '.join(PRIORITY_NAMES)}"
                )
            weights[name] = EMPHASIS
        return cls(**weights, time_budget_s=time_budget_s)

    def weights(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in PRIORITY_NAMES}

    def words(self) -> str:
        top = max(self.weights().values())
        named = [n for n, w in self.weights().items() if w == top]
        return "balanced" if len(named) == len(PRIORITY_NAMES) else " and ".join(named)

    def score(self, components: dict[str, float | None]) -> float:
        """Weighted mean of the known components (unknown ones leave the mean)."""
        total = weight = 0.0
        for name, w in self.weights().items():
            value = components.get(name)
            if value is None or w == 0:
                continue
            total += w * value
            weight += w
        return total / weight if weight else 0.0
