"""RunSpec: JSON round trip over varied specs, and one-line refusals at the boundary."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from healthforge.errors import HealthForgeError
from healthforge.pipeline import (
    DataSpec,
    EvaluationSpec,
    FairSpec,
    GeneratorSpec,
    OutputSpec,
    RunSpec,
    SplitSpec,
)
from healthforge.scenarios import list_scenarios, load_spec

GENERATORS = {
    "cart": {"min_samples_leaf": 5},
    "bayesian_network": {"max_parents": 2},
    "independent": {},
    "dp_copula": {"epsilon": 0.5},
}


def _random_spec(rng: np.random.Generator) -> RunSpec:
    """A spec with every part drawn at random (nested parts present or absent)."""
    name = str(rng.choice(list(GENERATORS)))
    dp = name == "dp_copula"
    source = str(rng.choice(["bundled:icu", "data/x.csv", "bundled:nhefs"]))
    return RunSpec(
        data=DataSpec(
            source=source,
            schema=None if rng.random() < 0.5 else "schema é.yaml",
            target=None if rng.random() < 0.5 else "died",
            infer_target=bool(rng.random() < 0.5),
            drop=[f"c{i}" for i in range(int(rng.integers(0, 3)))],
            # an inferred domain may stand in for a public one only for a bundled codebook
            schema_from_data=source.startswith("bundled:") and bool(rng.random() < 0.5),
        ),
        generator=GeneratorSpec(
            name=name,
            params=dict(GENERATORS[name]),
            fair=None if dp or rng.random() < 0.5 else FairSpec(by="sex", balance=True),
        ),
        privacy="standard" if rng.random() < 0.5 else "none",
        privacy_filter=bool(rng.random() < 0.5),
        conditions=["age>=65", "sex=Female"][: int(rng.integers(0, 3))],
        rows=None if rng.random() < 0.3 else int(rng.integers(1, 10**6)),
        seed=int(rng.integers(0, 2**31)),
        split=SplitSpec(float(rng.uniform(0.05, 0.95)), bool(rng.random() < 0.5)),
        evaluation=None
        if rng.random() < 0.4
        else EvaluationSpec(
            against=str(rng.choice(["all", "conditioned"])),
            fairness_by=None if rng.random() < 0.5 else "race",
            n_estimators=int(rng.integers(1, 300)),
            from_file=bool(rng.random() < 0.5),
            title=None if rng.random() < 0.5 else "a title",
        ),
        outputs=OutputSpec(
            synthetic="out.csv",
            report=None if rng.random() < 0.5 else "r.html",
            json=None if rng.random() < 0.5 else "r.json",
            labels=bool(rng.random() < 0.5),
            stream=bool(rng.random() < 0.5),
        ),
        name="n",
    )


@pytest.mark.parametrize("draw", range(40))
def test_json_round_trip_is_exact(draw: int) -> None:
    spec = _random_spec(np.random.default_rng(draw))
    text = spec.to_json()
    again = RunSpec.from_json(text)
    assert again == spec
    assert again.to_json() == text  # canonical: the same spec, the same bytes


def test_every_shipped_scenario_is_a_run_spec_that_round_trips() -> None:
    for scenario in list_scenarios():
        spec = scenario.to_spec()
        assert RunSpec.from_json(spec.to_json()) == spec
        assert spec.evaluation is not None and spec.evaluation.against == "conditioned"
        assert spec.conditions == scenario.conditions and spec.rows == scenario.rows


def test_load_spec_reads_scenario_files_and_nested_specs(tmp_path: Path) -> None:
    flat = tmp_path / "mine.yaml"
    flat.write_text("name: mine\ndataset: bundled:icu\nconditions: [age>=65]\nrows: 7\n")
    spec = load_spec(flat)
    assert (spec.data.source, spec.conditions, spec.rows) == ("bundled:icu", ["age>=65"], 7)
    nested = tmp_path / "spec.yaml"
    nested.write_text(json.dumps(spec.to_dict()))  # JSON is YAML
    assert load_spec(nested) == spec


def _spec(**changes: object) -> dict:
    base = RunSpec(data=DataSpec(source="bundled:icu")).to_dict()
    for path, value in changes.items():
        node = base
        *parents, leaf = path.split("__")
        for key in parents:
            node = node[key]
        node[leaf] = value
    return base


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"generator__name": "nope"}, "unknown generator 'nope'"),
        ({"rows": -3}, "rows must be a positive whole number, not -3"),
        ({"rows": True}, "rows must be a positive whole number"),
        ({"seed": "1"}, "seed must be a whole number"),
        ({"privacy": "maximal"}, "unknown privacy choice 'maximal'"),
        ({"split__holdout_fraction": 1.0}, "holdout_fraction must be between 0 and 1"),
        ({"conditions": "age>=65"}, "'conditions' must be a list of strings"),
        ({"conditions": ["age >>= 3"]}, "condition"),
        ({"version": 99}, "run specification version 99 is not supported"),
        ({"bogus": 1}, "unknown RunSpec fields: bogus"),
        ({"data__bogus": 1}, "unknown DataSpec fields: bogus"),
        ({"privacy": "strict", "generator__name": "cart"}, "differentially private generator"),
        ({"privacy": "strict", "generator__name": "aim"}, "needs public bounds"),
        ({"generator__params": {"epsilon": 1.0}}, "epsilon/delta apply to DP generators"),
    ],
)
def test_refusals_are_one_line_errors(changes: dict, message: str) -> None:
    with pytest.raises(HealthForgeError) as caught:
        RunSpec.from_dict(_spec(**changes))
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_a_condition_on_a_missing_column_fails_before_fitting() -> None:
    from healthforge.pipeline import Pipeline

    spec = RunSpec.from_dict(_spec(conditions=["shoe_size>=40"]))
    pipeline = Pipeline(spec)
    with pytest.raises(HealthForgeError, match="shoe_size"):
        pipeline.run()
    assert "build" not in pipeline.done and pipeline.state.model is None


def test_bad_json_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text('{"data": ')
    with pytest.raises(HealthForgeError, match="is not valid JSON"):
        RunSpec.from_json(path)
    with pytest.raises(HealthForgeError, match="does not exist"):
        RunSpec.from_json(tmp_path / "missing.json")
