"""The generator contract on every bundled dataset: validity, determinism, persistence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from healthforge.data import prepare
from healthforge.errors import HealthForgeError
from healthforge.generators import base as base_module
from healthforge.generators import get_generator, load_model
from healthforge.generators.core.persistence import FORMAT_VERSION
from tests.fixtures_data import BUNDLED, bundled, make_messy

STATISTICAL = ("independent", "gaussian_copula", "bayesian_network")
_FITTED: dict[tuple[str, str], object] = {}


def fitted(generator: str, dataset: str):
    key = (generator, dataset)
    if key not in _FITTED:
        _FITTED[key] = get_generator(generator, seed=3).fit(bundled(dataset))
    return _FITTED[key]


def assert_valid(synthetic: pd.DataFrame, real: pd.DataFrame) -> None:
    """Same columns and dtypes, observed categories only, bounds, decimals, missing rates."""
    prepared = prepare(real)
    assert list(synthetic.columns) == list(prepared.frame.columns)
    for column in prepared.schema.modelled:
        syn, obs = synthetic[column.name], prepared.frame[column.name]
        assert str(syn.dtype) == str(obs.dtype) or (
            column.kind == "datetime" and obs.dtype == object
        ), column.name
        assert abs(syn.isna().mean() - obs.isna().mean()) < 0.06, column.name
        values = syn.dropna()
        if column.is_discrete:
            assert set(values.unique()) <= set(obs.dropna().unique()), column.name
        elif column.kind != "datetime":
            assert values.min() >= obs.min() - 1e-9 and values.max() <= obs.max() + 1e-9
            if column.decimals is not None:
                np.testing.assert_allclose(values, values.round(column.decimals), atol=1e-9)


@pytest.mark.parametrize("dataset", BUNDLED)
@pytest.mark.parametrize("generator", STATISTICAL)
def test_valid_rows_on_every_bundled_dataset(generator: str, dataset: str) -> None:
    model = fitted(generator, dataset)
    synthetic = model.sample(1500, seed=1)
    assert len(synthetic) == 1500
    assert_valid(synthetic, bundled(dataset))
    assert "seqn" not in synthetic.columns and "id" not in synthetic.columns


@pytest.mark.parametrize("generator", STATISTICAL)
def test_same_seed_same_rows_and_save_load_round_trip(generator: str, tmp_path) -> None:
    model = fitted(generator, "icu")
    first, again = model.sample(300, seed=7), model.sample(300, seed=7)
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(model.sample(300, seed=8))
    path = tmp_path / "model.hfm"
    model.save(str(path))
    pd.testing.assert_frame_equal(load_model(path).sample(300, seed=7), first)
    refit = get_generator(generator, seed=3).fit(bundled("icu"))
    pd.testing.assert_frame_equal(refit.sample(300, seed=7), first)


def test_dependence_is_kept_by_copula_and_network_not_by_baseline() -> None:
    real = bundled("nhefs")[["wt71", "wt82"]].dropna()
    real_corr = real.corr().iloc[0, 1]
    assert real_corr > 0.85
    corr = {}
    for generator in STATISTICAL:
        synthetic = fitted(generator, "nhefs").sample(4000, seed=0)
        corr[generator] = synthetic[["wt71", "wt82"]].dropna().corr().iloc[0, 1]
    assert abs(corr["independent"]) < 0.1
    assert corr["gaussian_copula"] > 0.8
    assert corr["bayesian_network"] > 0.75


def test_network_keeps_outcome_relationship() -> None:
    real = bundled("nhefs")
    synthetic = fitted("bayesian_network", "nhefs").sample(8000, seed=0)
    # death is far more common among older participants: the gap must survive
    real_gap = real[real.age >= 60].death.mean() - real[real.age < 40].death.mean()
    syn_gap = (
        synthetic[synthetic.age >= 60].death.mean() - synthetic[synthetic.age < 40].death.mean()
    )
    assert real_gap > 0.3 and syn_gap > 0.6 * real_gap


@pytest.mark.parametrize("generator", STATISTICAL)
def test_no_training_row_is_copied(generator: str) -> None:
    model = fitted(generator, "pima")
    synthetic = model.sample(5000, seed=0)
    real = prepare(bundled("pima")).frame
    merged = synthetic.merge(real.drop_duplicates(), how="inner", on=list(real.columns))
    assert merged.empty


def test_chunked_streaming_matches_one_call(monkeypatch) -> None:
    model = fitted("gaussian_copula", "pima")
    monkeypatch.setattr(base_module, "CHUNK_ROWS", 1000)
    chunks = list(model.sample_chunks(3500, seed=5))
    assert [len(c) for c in chunks] == [1000, 1000, 1000, 500]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), model.sample(3500, seed=5))


def test_conditions_are_satisfied_and_impossible_ones_fail_fast() -> None:
    model = fitted("bayesian_network", "icu")
    rows = model.sample(400, seed=0, conditions=["sex=female", "age>=65", "race in [white, black]"])
    assert len(rows) == 400
    assert (rows.sex == "Female").all() and (rows.age >= 65).all()
    assert rows.race.isin(["White", "Black"]).all()
    assert rows.service.nunique() == 2  # other columns still vary
    for bad, message in [
        ("age>=200", "impossible"),
        ("sex=unknown", "never occurs"),
        ("height>3", "unknown column"),
        ("age is old", "cannot read"),
    ]:
        with pytest.raises(HealthForgeError, match=message):
            model.sample(10, conditions=[bad])


def test_too_rare_condition_is_an_error_not_an_endless_loop() -> None:
    model = fitted("independent", "icu")
    with pytest.raises(HealthForgeError, match="too rare"):
        model.sample(50, conditions={"age": (">", 91.5), "systolic": ("<", 40)})


def test_bad_calls() -> None:
    with pytest.raises(HealthForgeError, match="not fitted"):
        get_generator("gaussian_copula").sample(5)
    model = fitted("independent", "pima")
    for n in (0, -3, 2.5):
        with pytest.raises(HealthForgeError, match="positive whole number"):
            model.sample(n)  # type: ignore[arg-type]
    with pytest.raises(HealthForgeError, match="unknown generator"):
        get_generator("gan9000")
    with pytest.raises(HealthForgeError, match="bad parameters"):
        get_generator("bayesian_network", max_parrots=2)
    # text for a number or a switch (a mistyped --param) is refused by name, in one line
    with pytest.raises(HealthForgeError, match="target_weight must be a number, not 'abc'"):
        get_generator("lm", target_weight="abc")
    with pytest.raises(HealthForgeError, match="early_stopping must be true or false"):
        get_generator("lm", early_stopping="maybe")
    assert get_generator("cart", min_samples_leaf="auto").min_samples_leaf == "auto"
    assert get_generator("lm", threads=None, device="cpu").device == "cpu"


def test_model_files_from_other_versions_are_refused(tmp_path) -> None:
    import json
    import zipfile

    path = tmp_path / "m.hfm"
    fitted("independent", "pima").save(str(path))
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        state = archive.read("state.pkl")
    manifest["format_version"] = FORMAT_VERSION + 1
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr("state.pkl", state)
    with pytest.raises(HealthForgeError, match="format version"):
        load_model(path)
    (tmp_path / "junk.hfm").write_text("not a model")
    with pytest.raises(HealthForgeError, match="not a HealthForge model"):
        load_model(tmp_path / "junk.hfm")


@pytest.mark.parametrize("generator", STATISTICAL)
def test_messy_user_data_with_dates_and_identifiers(generator: str) -> None:
    real = make_messy()
    synthetic = get_generator(generator).fit(real).sample(500, seed=0)
    assert not set(synthetic.columns) & {"name", "email", "ssn", "phone", "address", "dob"}
    dates = pd.to_datetime(synthetic.admitted.dropna(), format="%Y-%m-%d")
    assert dates.min() >= pd.Timestamp("2020-01-01") and dates.max() <= pd.Timestamp("2022-06-19")
    assert set(synthetic.smoker.dropna().unique()) <= {True, False}
    assert_valid(synthetic, real)


def test_network_conditions_natively_and_matches_rejection(monkeypatch) -> None:
    model = fitted("bayesian_network", "nhefs")
    assert model.conditioning == "native"
    conditions = ["sex=1", "age>=60", "death=1"]
    native = model.sample(6000, seed=2, conditions=conditions)
    native_draws = model.sample_stats_["drawn"]
    monkeypatch.setattr(type(model), "conditioning", "rejection")
    rejected = model.sample(6000, seed=2, conditions=conditions)
    assert model.sample_stats_["drawn"] > 5 * native_draws  # evidence saves most draws
    for frame in (native, rejected):
        assert (frame.sex == 1).all() and (frame.age >= 60).all() and (frame.death == 1).all()
    for column in ("wt71", "sbp", "smokeintensity", "qsmk"):  # same conditional distribution
        scale = rejected[column].std()
        assert abs(native[column].mean() - rejected[column].mean()) < 0.1 * scale, column
