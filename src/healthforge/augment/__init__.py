"""Augmentation: add synthetic rows for small groups, and measure whether it helps.

:mod:`.experiment` runs the repeated-split experiment through
:mod:`healthforge.pipeline` (:func:`augment_experiment`, :func:`plan_counts`,
:func:`read_source`; :mod:`.scoring` scores one arm's downstream model);
:mod:`.statistics` turns its per-repeat AUROCs into intervals, verdicts and a
conclusion; :mod:`.report` writes the table, the figure and the HTML page.
"""

from healthforge.augment.experiment import (
    MIN_GROUP_ROWS,
    MODELS,
    STRATEGIES,
    SYNTHETIC_FLAG,
    AugmentResult,
    augment_experiment,
    plan_counts,
    read_source,
)
from healthforge.augment.report import (
    augmentation_figure,
    interval_notes,
    markdown_table,
    render_augment_report,
    write_augment_report,
)
from healthforge.augment.statistics import (
    ARM_LABELS,
    ARMS,
    AUROC_RANGE,
    DIFFERENCE_RANGE,
    NO_HOLDOUT,
    ONE_CLASS,
    OVERALL,
    SAME_DIFFERENCE,
    Interval,
    mean_interval,
)

__all__ = [
    "ARMS",
    "ARM_LABELS",
    "AUROC_RANGE",
    "DIFFERENCE_RANGE",
    "MIN_GROUP_ROWS",
    "MODELS",
    "NO_HOLDOUT",
    "ONE_CLASS",
    "OVERALL",
    "SAME_DIFFERENCE",
    "STRATEGIES",
    "SYNTHETIC_FLAG",
    "AugmentResult",
    "Interval",
    "augment_experiment",
    "augmentation_figure",
    "interval_notes",
    "markdown_table",
    "mean_interval",
    "plan_counts",
    "read_source",
    "render_augment_report",
    "write_augment_report",
]
