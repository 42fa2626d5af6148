"""The evaluation's steps of a run: evaluate the rows, write the summary and report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from healthforge.errors import HealthForgeError
from healthforge.pipeline.steps import RunState, seeds_of


def evaluate(state: RunState) -> None:
    from healthforge.evaluation import evaluate as evaluate_rows

    spec, model = state.spec, state.model
    options = spec.evaluation
    if options is None:
        return
    synthetic = _synthetic_for_evaluation(state)
    if options.against == "conditioned":
        real, holdout = state.real_eval, state.holdout_eval
        schema = state.prepared.schema
        target = schema.target
        if target is not None and real[target].nunique(dropna=False) < 2:
            state.notes.append(f"'{target}' is constant given the conditions: no utility target")
            target = None
        if target is None:
            schema = schema.with_target(None)
    else:
        schema = _judging_schema(state)
        real, holdout, target = state.train, state.holdout, schema.target
    sized = {} if options.n_attacks is None else {"n_attacks": options.n_attacks}
    state.evaluation = evaluate_rows(
        real,
        synthetic,
        holdout=holdout,
        schema=schema,
        target=target,
        fairness_by=options.fairness_by,
        seed=seeds_of(spec)["evaluation"],
        n_estimators=options.n_estimators,
        progress=state.progress,
        dp_budget=state.dp_budget if model is None else getattr(model, "dp_budget_", None),
        **sized,
    )


def _judging_schema(state: RunState) -> Any:
    """The schema the rows are judged by: the model's, or (``evaluation.schema: train``)
    the one inferred from the training rows, alike for every method on the split."""
    assert state.spec.evaluation is not None
    if state.spec.evaluation.schema == "train":
        from healthforge.data.infer import infer_schema

        target = state.target if state.prepared is None else state.prepared.schema.target
        return infer_schema(state.train, target)
    if state.model is None:
        raise HealthForgeError(
            "rows sampled outside this run have no model schema to be judged by",
            "set evaluation.schema to 'train'",
        )
    return state.model.schema_


def _synthetic_for_evaluation(state: RunState) -> pd.DataFrame:
    options, out = state.spec.evaluation, state.spec.outputs
    if state.synthetic is not None and not (options and options.from_file):
        return state.synthetic
    if out.synthetic is None:
        raise HealthForgeError("a streamed run must write its rows to be evaluated")
    from healthforge.data.io import WRITTEN_NA, load_table
    from healthforge.data.labels import from_labels

    # read back exactly as written (only an empty cell is missing: a level such as ICU's
    # coma "None" must not become a missing value the detector spots in every row), and
    # a file written with labels as codes, as the model knows them
    return from_labels(load_table(out.synthetic, na_values=WRITTEN_NA), state.model.schema_)


def report(state: RunState) -> None:
    """The JSON summary and the HTML report of the evaluation."""
    spec = state.spec
    out, options = spec.outputs, spec.evaluation
    if state.evaluation is None or options is None:
        return
    if out.json is not None:
        state.evaluation.to_json(Path(out.json))
    if out.report is None:
        return
    from healthforge.evaluation.report import write_report

    synthetic = _synthetic_for_evaluation(state)
    if options.against == "conditioned":
        from healthforge.data.derived import add_derived

        real = add_derived(state.real_eval, state.prepared.schema)
        holdout = state.holdout_eval
    else:
        real, holdout = state.train, state.holdout
    title = options.title
    if title is None:
        name = state.generator if state.model is None else state.model.name
        title = f"{name} on {Path(out.synthetic or 'memory').name}"
    write_report(state.evaluation, Path(out.report), real, synthetic, holdout, title=title)
