"""dpctgan and dptvae: canaries, the budget they record, clear errors (issue 6)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from healthforge.data.infer import infer_schema
from healthforge.errors import HealthForgeError
from healthforge.generators import get_generator, load_model
from tests.fixtures_data import (
    CANARY_AGE,
    CANARY_DX,
    canary_public_schema,
    canary_table,
    with_canary,
)

pytest.importorskip("torch")
pytest.importorskip("opacus")

DEEP_DP = ("dpctgan", "dptvae")
# tiny networks and few epochs: these tests check privacy plumbing, not quality
SMALL = {"epochs": 2, "batch_size": 64, "embedding_dim": 8, "threads": 1}
DIMS = {
    "dpctgan": {"generator_dims": (16,), "discriminator_dims": (16,)},
    "dptvae": {"compress_dims": (16,), "decompress_dims": (16,)},
}


def _model(name: str, **params):
    return get_generator(name, noise_seed=3, **{**SMALL, **DIMS[name], **params})


def spy_on_opacus(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, Any, Any]]:
    """Record the (engine, optimizer, loader) of every DP-SGD training (issue 20).

    Wraps ``dp_sgd.attach_opacus``, the one call into opacus, and calls through to it.
    """
    from healthforge.generators.private import sgd as dp_sgd

    real, made = dp_sgd.attach_opacus, []

    def spy(*args: Any, **kwargs: Any) -> Any:
        engine, module, optimizer, loader = real(*args, **kwargs)
        made.append((engine, optimizer, loader))
        return engine, module, optimizer, loader

    monkeypatch.setattr(dp_sgd, "attach_opacus", spy)
    return made


def assert_record_is_what_the_optimizer_ran(sgd: dict[str, Any], made: list) -> None:
    """The recorded sigma, norm, rate and steps are those of the optimizer and loader used."""
    assert len(made) == 1
    engine, optimizer, loader = made[0]
    assert sgd["noise_multiplier"] == optimizer.noise_multiplier
    assert sgd["max_grad_norm"] == optimizer.max_grad_norm
    assert sgd["sampling_rate"] == loader.sample_rate
    assert loader.batch_sampler.__class__.__name__ == "UniformWithReplacementSampler"  # Poisson
    # opacus logs (sigma, rate, steps) at every optimizer step, with the sigma in use then
    history = engine.accountant.history
    assert {(sigma, rate) for sigma, rate, _ in history} == {
        (sgd["noise_multiplier"], sgd["sampling_rate"])
    }
    assert sum(steps for _, _, steps in history) == sgd["steps"] > 0


@pytest.mark.parametrize("name", DEEP_DP)
def test_a_value_outside_the_public_domain_is_never_released(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The canary's diagnosis is outside the public schema, so conforming strips it before
    the mechanism: this checks that a public domain is never widened by the data, and the
    budget record. What the mechanism itself leaks is tested by the DP-SGD audit
    (tests/privacy/test_dp_sgd_audit.py) and the noise tests, with a canary that reaches it."""
    made = spy_on_opacus(monkeypatch)
    model = _model(name).fit(
        with_canary(canary_table()), canary_public_schema(canary_table()), target="died"
    )
    assert_record_is_what_the_optimizer_ran(model.dp_budget_["split"]["dp_sgd"], made)
    out = model.sample(2000, seed=1)
    assert CANARY_DX not in set(out["dx"].dropna())
    assert out["age"].max() <= 90 and out["bp"].max() <= 220
    assert CANARY_DX not in json.dumps(model.schema_.to_dict())
    assert model.train_hashes_.size == 0
    budget = model.dp_budget_
    sgd = budget["split"]["dp_sgd"]
    assert 0 < budget["epsilon"] == sgd["epsilon_spent"] <= 1.0
    assert budget["split"]["epsilon_target"] == 1.0
    assert sgd["steps"] == sgd["planned_steps"] > 0 and sgd["noise_multiplier"] > 0
    assert sgd["accountant"] == "rdp" and budget["public_schema"] is True
    assert budget["split"]["rho_domain"] == 0.0  # nothing released: the schema is public
    assert 0 < budget["delta"] < 1 / 301


def test_canary_never_appears_with_inferred_schema() -> None:
    """No schema: the domain is a DP release (charged), the canary's value is not in it."""
    model = _model("dptvae", batch_size=256, epsilon=5.0)
    model.fit(with_canary(canary_table(3000)), target="died")
    out = model.sample(3000, seed=1)
    assert CANARY_DX not in set(out["dx"].dropna())
    # DP bounds are wide at this budget, so 119 may be drawn by chance inside its bin;
    # what must not happen is the canary's value standing out from its neighbours
    near = np.mean([(out["age"] == v).sum() for v in range(100, 140)])
    assert (out["age"] == CANARY_AGE).sum() <= 1 + 3 * near
    age = model.schema_["age"]
    assert CANARY_AGE not in (age.minimum, age.maximum)
    assert CANARY_DX not in json.dumps(model.schema_.to_dict())
    budget = model.dp_budget_
    assert budget["public_schema"] is False and budget["split"]["rho_domain"] > 0
    assert budget["split"]["dp_sgd"]["prior_rho"] > budget["split"]["rho_domain"]
    assert budget["epsilon"] <= 5.0


def test_model_file_round_trip_samples_the_same(tmp_path: Path) -> None:
    model = _model("dpctgan").fit(
        canary_table(), canary_public_schema(canary_table()), target="died"
    )
    path = tmp_path / "m.hfm"
    model.save(str(path))
    loaded = load_model(path)
    assert loaded.dp_budget_ == model.dp_budget_
    pd.testing.assert_frame_equal(loaded.sample(200, seed=5), model.sample(200, seed=5))


@pytest.mark.parametrize("name", DEEP_DP)
def test_invalid_privacy_settings_are_clear_errors(name: str) -> None:
    with pytest.raises(HealthForgeError, match="epsilon"):
        get_generator(name, epsilon=0)
    with pytest.raises(HealthForgeError, match="delta"):
        get_generator(name, delta=1.0)
    with pytest.raises(HealthForgeError, match="1 / 300"):
        _model(name, delta=0.01).fit(canary_table(), target="died")
    with pytest.raises(HealthForgeError, match="accountant"):
        _model(name, accounting="moments").fit(canary_table(), target="died")
    with pytest.raises(HealthForgeError, match="too small"):
        _model(name, epsilon=1e-4).fit(
            canary_table(), canary_public_schema(canary_table()), target="died"
        )


def test_cli_epsilon_reaches_the_generator(tmp_path: Path) -> None:
    from healthforge.cli.app import app

    data = tmp_path / "d.csv"
    canary_table().to_csv(data, index=False)
    out, summary = tmp_path / "s.csv", tmp_path / "s.json"
    args = ["generate", str(data), "-g", "dptvae", "-o", str(out), "--epsilon", "3"]
    args += ["--target", "died", "--json", str(summary)]
    for key, value in {**SMALL, **DIMS["dptvae"]}.items():
        args += ["--param", f"{key}={list(value) if isinstance(value, tuple) else value}"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    budget = json.loads(summary.read_text())["privacy"]["dp_budget"]
    assert budget["split"]["epsilon_target"] == 3.0 and budget["epsilon"] <= 3.0
    assert "post_processing" in budget


def _linked(n: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Three columns that are near copies of each other (correlations about 0.9)."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    b = np.where(rng.random(n) < 0.95, a, 1 - a)
    level = np.round(20 + 40 * a + rng.normal(0, 6, n))  # binned by the public schema
    return pd.DataFrame({"a": np.array(["x", "y"])[a], "b": np.array(["p", "q"])[b], "c": level})


def _links(df: pd.DataFrame) -> tuple[float, float]:
    a = (df["a"] == "y").to_numpy(float)
    return (
        float(np.corrcoef(a, (df["b"] == "q").to_numpy(float))[0, 1]),
        float(np.corrcoef(a, df["c"].to_numpy(float))[0, 1]),
    )


@pytest.mark.parametrize(("name", "epochs"), [("dptvae", 25), ("dpctgan", 40)])
def test_associations_survive_when_noise_is_negligible(name: str, epochs: int) -> None:
    """At a huge epsilon (noise multiplier ~0.01) the DP-SGD path must learn associations.

    Guards the shared path (one-hot layout in and out, Poisson batches, opacus per-sample
    gradients, sampling from the network rather than marginals) against a defect that
    would give correct marginals but independent columns. Note ``max_grad_norm`` stays
    1: opacus' noise is ``noise_multiplier * max_grad_norm``, so "turning clipping
    off" with a huge norm drowns the gradients instead.
    """
    df = _linked()
    params = {"epsilon": 1e6, "epochs": epochs, "batch_size": 100, "embedding_dim": 8}
    model = get_generator(name, noise_seed=3, threads=1, **params, **DIMS[name])
    model.fit(df, infer_schema(df), target="b")
    ab, ac = _links(model.sample(1000, seed=1))
    real_ab, real_ac = _links(df)
    assert real_ab > 0.85 and real_ac > 0.85
    assert ab > 0.5 and ac > 0.5, (ab, ac)


def test_lm_with_epsilon_records_what_its_optimizer_ran(monkeypatch: pytest.MonkeyPatch) -> None:
    """lm with epsilon trains through the same make_private: same record check (issue 20).

    batch_size above the row count: one step at sampling rate 1 keeps the fit under a second.
    """
    pytest.importorskip("torch")
    made = spy_on_opacus(monkeypatch)
    tiny = {"d_model": 16, "n_layers": 1, "n_heads": 2, "threads": 1, "batch_size": 1024}
    model = get_generator("lm", epsilon=2.0, dp_epochs=1, noise_seed=0, **tiny)
    model.fit(canary_table(), canary_public_schema(canary_table()), target="died")
    sgd = model.dp_budget_["split"]["dp_sgd"]
    assert_record_is_what_the_optimizer_ran(sgd, made)
    assert 0 < model.dp_budget_["epsilon"] == sgd["epsilon_spent"] <= 2.0


def test_noisy_counts_have_the_recorded_sigma() -> None:
    """dpctgan's row total and level histograms are noised with the sigma it records (#20).

    Over 200 seeded releases, (released - true) / sigma is standard normal: its sum of
    squares lies in the chi-square interval of false-positive rate 1e-4. Noise cut to a
    tenth (sigma recorded unchanged) gives a sum of squares ~100 times too small.
    """
    from scipy.stats import chi2

    model = _model("dpctgan")
    codes = np.random.default_rng(0).integers(0, 3, size=(50, 4))
    model.discrete_ = np.array([True, True, False, True])
    sizes = np.full(4, 3)
    truth = [np.array([50.0])] + [np.bincount(codes[:, j], minlength=3) for j in (0, 1, 3)]
    squares, draws = 0.0, 0
    for seed in range(200):
        record = model._release_counts(codes, sizes, 0.5, np.random.default_rng(seed))
        assert record["histograms"] == 3 and record["l2_sensitivity"] == 2.0
        released = [np.array([model.noisy_total_])] + [
            model.noisy_histograms_[j] for j in (0, 1, 3)
        ]
        for got, true in zip(released, truth, strict=True):
            squares += float((((got - true) / record["sigma"]) ** 2).sum())
            draws += len(true)
    low, high = chi2.ppf([5e-5, 1 - 5e-5], draws)
    assert low < squares < high, (squares, draws)
