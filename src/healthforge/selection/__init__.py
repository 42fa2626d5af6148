"""Which generator to use: Bayesian selection with a benchmark prior.

A contextual Thompson-sampling bandit over a table's meta-features and the user's
priorities, whose prior is the benchmark's results files and which learns from every
evaluated run (persisted per user). See ``docs/selection.md``.

>>> meta = meta_features(frame, target="died")
>>> rec = recommend(meta, Priorities.from_names(["privacy"]), store=SelectionStore.open())
>>> rec.best.name, rec.best.evidence
"""

from healthforge.selection.evidence import Evidence, EvidenceRun, load_evidence
from healthforge.selection.meta import MetaFeatures, meta_features
from healthforge.selection.policy import Choice, Recommendation, recommend, record
from healthforge.selection.reward import Priorities, Reward
from healthforge.selection.store import Observation, SelectionStore

__all__ = [
    "Choice",
    "Evidence",
    "EvidenceRun",
    "MetaFeatures",
    "Observation",
    "Priorities",
    "Recommendation",
    "Reward",
    "SelectionStore",
    "load_evidence",
    "meta_features",
    "recommend",
    "record",
]
