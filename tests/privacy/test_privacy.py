"""Differential privacy, budget accounting, the privacy filter and presets (issue 6)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from tests.fixtures_data import (
    CANARY_AGE,
    CANARY_DX,
    DOMAIN_CANARY,
    canary_public_schema,
    canary_table,
    in_canary_region,
    with_canary,
    with_domain_canary,
)

from healthforge.data.infer import infer_schema
from healthforge.data.prepare import prepare
from healthforge.data.schema import Schema
from healthforge.errors import HealthForgeError
from healthforge.evaluation import evaluate
from healthforge.generators import conform_to_schema, get_generator, load_model
from healthforge.privacy.accounting import cdp_delta, cdp_rho
from healthforge.privacy.filter import PrivacyFilter, filtered_sample, privacy_filter
from healthforge.privacy.presets import resolve_preset

DP_GENERATORS = ("aim", "mst", "dp_copula", "lm")
# lm is a DP generator only with epsilon set; a small network and few epochs keep it quick
FAST_PARAMS = {
    "aim": {"rounds": 2},  # fewer refits
    "lm": {"dp_epochs": 2, "d_model": 32, "n_layers": 1, "threads": 1},
}


def _fit(name: str, data: pd.DataFrame, schema: Schema | None = None, **params):
    model = get_generator(name, epsilon=params.pop("epsilon", 1.0), noise_seed=3, **params)
    return model.fit(data, schema, target="died")


def assert_canary_reaches_the_mechanism(data: pd.DataFrame, schema: Schema) -> None:
    """The canary survives conforming to the public schema and preparation unchanged, so a
    canary test cannot pass because something upstream of the mechanism removed it."""
    conformed = conform_to_schema(data, schema)
    prepared = prepare(conformed, schema, "died").frame
    for frame in (conformed, prepared):
        assert in_canary_region(frame).sum() == 1
        row = frame[in_canary_region(frame)].iloc[0]
        assert {k: row[k] for k in DOMAIN_CANARY} == DOMAIN_CANARY


def canary_excess(name: str, epsilon: float, m: int = 6000) -> tuple[int, float]:
    """Synthetic rows in the canary's region with the canary, and the most an
    ``epsilon``-DP model allows given the count without it (same noise and sampling seeds).

    DP bounds the expected count: E_with <= e^epsilon E_without + delta m. One coupled pair
    stands in for the expectations; the slack (3 sd of a Poisson count, plus 5) covers the
    sampling of m rows. Heuristic, not a proof: it catches a model that learns the canary
    (at epsilon = 1e5 the count rose from 0-2 to 21-40 for aim, mst and dp_copula)."""
    schema = canary_public_schema(canary_table())
    counts = []
    for data in (canary_table(), with_domain_canary(canary_table())):
        model = _fit(name, data, schema, epsilon=epsilon, **FAST_PARAMS.get(name, {}))
        out = model.sample(m, seed=1)
        assert out["age"].max() <= 90 and out["bp"].max() <= 220  # the public domain
        counts.append(int(in_canary_region(out).sum()))
    without, with_ = counts
    allowed = np.exp(1.0) * without  # the guarantee under test is epsilon = 1
    return with_, allowed + 3 * np.sqrt(allowed + 1) + 5


@pytest.mark.parametrize("name", DP_GENERATORS)
def test_a_canary_inside_the_public_domain_is_not_learnt(name: str) -> None:
    """A record inside the public schema's domain, alone in its region, reaches the
    mechanism; the region gets no more synthetic rows than DP at epsilon = 1 allows."""
    data = with_domain_canary(canary_table())
    schema = canary_public_schema(canary_table())
    assert_canary_reaches_the_mechanism(data, schema)
    observed, allowed = canary_excess(name, 1.0, m=3000 if name == "lm" else 6000)
    assert observed <= allowed, (observed, allowed)


@pytest.mark.parametrize("name", ["mst", "dp_copula"])  # aim shares this domain code
def test_canary_never_appears_with_inferred_schema(name: str) -> None:
    """No schema: categories and bounds are released with DP, the canary's are not."""
    model = _fit(name, with_canary(canary_table(3000)), epsilon=5.0)
    out = model.sample(3000, seed=1)
    assert CANARY_DX not in set(out["dx"].dropna())
    assert (out["age"] != CANARY_AGE).all()
    released = json.dumps(model.schema_.to_dict())
    assert CANARY_DX not in released and model.dp_budget_["public_schema"] is False
    assert model.dp_budget_["split"]["domain"]["rho_category_selection"] > 0
    assert model.train_hashes_.size == 0  # no hashes of training rows in the model file


def test_budget_recorded_and_round_trips(tmp_path) -> None:
    model = _fit("dp_copula", canary_table(), canary_public_schema(canary_table()), epsilon=2.0)
    budget = model.dp_budget_
    assert budget["epsilon"] == 2.0 and 0 < budget["delta"] < 1 / 300
    assert {"mechanism", "split", "accountant", "post_processing"} <= set(budget)
    path = tmp_path / "m.hfm"
    model.save(str(path))
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["dp_budget"]["epsilon"] == 2.0
    assert load_model(path).dp_budget_ == budget


def test_zcdp_conversion_is_consistent() -> None:
    rho = cdp_rho(1.0, 1e-6)
    assert 0.01 < rho < 0.05
    assert cdp_delta(rho, 1.0) <= 1e-6


@pytest.mark.parametrize("epsilon", [0, -1, float("nan"), float("inf"), "1", True])
def test_bad_epsilon(epsilon) -> None:
    with pytest.raises(HealthForgeError, match="epsilon"):
        get_generator("mst", epsilon=epsilon)


@pytest.mark.parametrize("delta", [0, 1, 1.5, -0.1])
def test_bad_delta(delta) -> None:
    with pytest.raises(HealthForgeError, match="delta"):
        get_generator("aim", delta=delta)


def test_delta_not_below_one_over_n() -> None:
    with pytest.raises(HealthForgeError, match="1 / 300"):
        _fit("dp_copula", canary_table(), delta=0.01)


def test_strict_mode_needs_schema_bounds() -> None:
    schema = canary_public_schema(canary_table())
    schema["bp"].maximum = None
    with pytest.raises(HealthForgeError, match="declare minimum/maximum") as err:
        _fit("dp_copula", canary_table(), schema, bounds="schema")
    assert "bp" in str(err.value)
    with pytest.raises(HealthForgeError, match="schema you supply"):
        _fit("aim", canary_table(), bounds="schema")


def test_presets_map_as_documented() -> None:
    assert resolve_preset("none").privacy_filter is False
    standard = resolve_preset("standard", "cart")
    assert standard.generator == "cart" and standard.privacy_filter
    strict = resolve_preset("strict")
    assert strict.generator == "aim" and strict.params == {"epsilon": 1.0, "bounds": "schema"}
    assert strict.privacy_filter and strict.needs_schema
    assert resolve_preset("strict", "mst", {"epsilon": 0.5}).params["epsilon"] == 0.5
    with pytest.raises(HealthForgeError, match="differentially private"):
        resolve_preset("strict", "cart")
    with pytest.raises(HealthForgeError, match="up to 1"):
        resolve_preset("strict", "aim", {"epsilon": 5})
    with pytest.raises(HealthForgeError, match="unknown privacy preset"):
        resolve_preset("max")


def test_filter_removes_every_copy_of_the_training_data() -> None:
    data = canary_table()
    train, holdout = data.iloc[:240], data.iloc[240:]
    kept, report = privacy_filter(train, train, holdout)
    assert len(kept) == 0 and report.removed_copies == len(train)
    assert report.removed == report.rows_in == len(train)


def test_filter_removes_close_rows_and_unique_quasi_identifiers() -> None:
    data = canary_table(600)
    train, holdout = data.iloc[:480].reset_index(drop=True), data.iloc[480:]
    schema = infer_schema(train, target="died")
    schema["age"].role = "quasi_identifier"
    schema["sex"].role = "quasi_identifier"
    near = train.copy()
    near["bp"] = near["bp"] + 0.05  # tiny shifts of real people
    _kept, report = privacy_filter(near, train, holdout, schema)
    assert report.removed_too_close > 0.9 * len(near)
    assert report.quasi_identifiers == ["age", "sex"]
    assert report.distance_threshold is not None and report.distance_threshold > 0


def test_no_exact_copies_after_the_filter() -> None:
    data = canary_table(400)
    train, holdout = data.iloc[:320].reset_index(drop=True), data.iloc[320:]
    model = get_generator("cart", seed=0).fit(train, target="died")
    guard = PrivacyFilter(train, holdout, model.schema_)
    out, report = filtered_sample(model, 500, guard, seed=2)
    assert len(out) == 500
    merged = out.merge(train.drop_duplicates(), how="inner")
    assert merged.empty
    assert report.rows_in >= 500


def test_evaluation_shows_the_budget() -> None:
    data = canary_table(400)
    train, holdout = data.iloc[:320].reset_index(drop=True), data.iloc[320:]
    model = _fit("dp_copula", train, canary_public_schema(train))
    synthetic = model.sample(320, seed=0)
    result = evaluate(
        train,
        synthetic,
        holdout,
        target="died",
        n_estimators=20,
        n_attacks=50,
        dp_budget=model.dp_budget_,
    )
    assert result.summary["privacy"]["dp_budget"]["epsilon"] == 1.0
    assert not any(e["metric"] == "privacy.dp_budget" for e in result.summary["skipped"])
    from healthforge.evaluation.report import render_report

    html = render_report(result, train, synthetic, holdout)
    assert "spends no further budget" in html


def test_cli_privacy_filter_and_strict_errors(tmp_path) -> None:
    from typer.testing import CliRunner

    from healthforge.cli.app import app

    data = tmp_path / "d.csv"
    canary_table(300).to_csv(data, index=False)
    out = tmp_path / "out.csv"
    runner = CliRunner()
    args = ["generate", str(data), "--target", "died", "-g", "cart", "-o", str(out)]
    result = runner.invoke(app, [*args, "--privacy-filter"])
    assert result.exit_code == 0, result.output
    assert "privacy filter removed" in result.output
    written = pd.read_csv(out)
    # generate fits on a seeded 80% (the rest sets the threshold): no copy of those rows
    from healthforge.evaluation import split_train_holdout

    train, _ = split_train_holdout(canary_table(300), "died", 0.2, seed=0)
    assert len(written) == 300 and written.merge(train.drop_duplicates()).empty
    strict = runner.invoke(app, [*args, "--privacy", "strict", "--force"])
    assert strict.exit_code != 0 and "differentially private" in strict.output
    no_schema = runner.invoke(
        app, ["generate", str(data), "--privacy", "strict", "-o", str(out), "--force"]
    )
    assert no_schema.exit_code != 0 and "--schema" in no_schema.output
    bad = runner.invoke(app, [*args, "-g", "mst", "--epsilon", "-1", "--force"])
    assert bad.exit_code != 0 and "epsilon" in bad.output
