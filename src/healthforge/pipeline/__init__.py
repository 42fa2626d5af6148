"""One workflow for every front end: a run specification and the function that runs it.

``RunSpec`` (:mod:`.spec`) says what to do; :func:`run` (:mod:`.run`) does it, step by
step (:mod:`.steps`), and returns a typed :class:`RunResult`. The CLI's ``generate``,
``demo``, ``scenario run`` and ``run``, and the benchmark worker, all build a spec and
call :func:`run`; ``augment`` runs one spec's repeated splits as
:meth:`Pipeline.branch` es of it.
"""

from healthforge.pipeline.fitting import fit_model
from healthforge.pipeline.run import STEP_NAMES, Pipeline, Provenance, RunResult, fingerprint, run
from healthforge.pipeline.spec import (
    SPEC_VERSION,
    DataSpec,
    EvaluationSpec,
    FairSpec,
    GeneratorSpec,
    OutputSpec,
    RunSpec,
    SplitSpec,
)
from healthforge.pipeline.steps import draw, split_train_holdout

__all__ = [
    "SPEC_VERSION",
    "STEP_NAMES",
    "DataSpec",
    "EvaluationSpec",
    "FairSpec",
    "GeneratorSpec",
    "OutputSpec",
    "Pipeline",
    "Provenance",
    "RunResult",
    "RunSpec",
    "SplitSpec",
    "draw",
    "fingerprint",
    "fit_model",
    "run",
    "split_train_holdout",
]
