"""Rows sampled outside a run (the benchmark's child, a peer library) judged by the run:
:meth:`Pipeline.adopt` and the evaluation by the training rows' schema."""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
import pytest

from healthforge.errors import HealthForgeError
from healthforge.pipeline import (
    DataSpec,
    EvaluationSpec,
    GeneratorSpec,
    Pipeline,
    RunResult,
    RunSpec,
    SplitSpec,
)

FAST = {"n_estimators": 20, "n_attacks": 50}


def _spec(schema: str = "train") -> RunSpec:
    return RunSpec(
        data=DataSpec(source="bundled:icu"),
        generator=GeneratorSpec(name="independent"),
        rows=300,
        seed=4,
        split=SplitSpec(before_prepare=True),
        evaluation=EvaluationSpec(schema=schema, **FAST),  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def whole() -> RunResult:
    """The spec run in this process, fit to evaluation."""
    return Pipeline(_spec()).run()


def test_adopted_rows_are_judged_as_the_same_rows_sampled_here(whole: RunResult) -> None:
    judge = Pipeline(_spec())
    judge.run(until="split")
    assert whole.synthetic is not None
    judge.adopt(whole.synthetic, "elsewhere", dp_budget=None)
    adopted = judge.run()
    assert adopted.steps_run[-3:] == ["write", "evaluate", "report"]
    assert adopted.generator == "elsewhere" and adopted.model is None
    assert adopted.evaluation.summary == whole.evaluation.summary


def test_adopting_again_replaces_the_rows(whole: RunResult) -> None:
    judge = Pipeline(_spec())
    judge.run(until="split")
    assert whole.synthetic is not None
    half = whole.synthetic.iloc[:150].reset_index(drop=True)
    judge.adopt(half, "first half")
    first = judge.run().evaluation.summary
    judge.adopt(whole.synthetic, "all")
    second = judge.run().evaluation.summary
    assert second == whole.evaluation.summary and first != second


def test_the_train_schema_is_inferred_from_the_training_rows(
    whole: RunResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every method on a split is judged by one schema, not its model's own."""
    import healthforge.evaluation as evaluation
    from healthforge.data.infer import infer_schema

    seen: list[Any] = []

    def spy(real: pd.DataFrame, synthetic: pd.DataFrame, **options: Any) -> Any:
        seen.append(options)
        return whole.evaluation

    monkeypatch.setattr(evaluation, "evaluate", spy)
    assert whole.train is not None and whole.synthetic is not None
    expected = infer_schema(whole.train, "died")
    judge = Pipeline(_spec())
    judge.run(until="split")
    judge.adopt(whole.synthetic, "elsewhere", dp_budget={"epsilon": 1.0})
    judge.run()
    (options,) = seen
    assert options["schema"].to_dict() == expected.to_dict()
    assert options["target"] == "died" and options["dp_budget"] == {"epsilon": 1.0}
    assert options["n_attacks"] == FAST["n_attacks"]
    assert options["n_estimators"] == FAST["n_estimators"]


def test_adopt_refusals(whole: RunResult) -> None:
    assert whole.synthetic is not None
    early = Pipeline(_spec())
    early.run(until="prepare")
    with pytest.raises(HealthForgeError, match="'split' to have run"):
        early.adopt(whole.synthetic, "elsewhere")
    by_model = Pipeline(_spec(schema="model"))
    by_model.run(until="split")
    by_model.adopt(whole.synthetic, "elsewhere")
    with pytest.raises(HealthForgeError, match="no model schema") as raised:
        by_model.run()
    assert "'train'" in (raised.value.hint or "")
    bad = dataclasses.replace(_spec(), evaluation=EvaluationSpec(schema="peer"))
    with pytest.raises(HealthForgeError, match="unknown evaluation 'schema'"):
        bad.validate()
