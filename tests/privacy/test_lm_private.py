"""``lm`` with epsilon: the same public-schema rule as the other DP generators, and a model
file that keeps nothing read from the private rows without noise (issue #20, 1 and 2)."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from healthforge.cli.app import app
from healthforge.data.prepare import prepare
from healthforge.errors import HealthForgeError
from healthforge.generators import get_generator, load_model
from healthforge.generators.private.bounds import BOUNDS_EDGES

pytest.importorskip("torch")
pytest.importorskip("opacus")

TINY = {
    "d_model": 16, "n_layers": 1, "n_heads": 2, "threads": 1, "dp_epochs": 1, "n_bins": 8,
    "batch_size": 16,  # the noise calibration (opacus RDP) takes longer at larger rates
}  # fmt: skip
PLANTED_AGE = 97.3  # one record's exact age: far above everyone else's


def _table(n: int = 600) -> pd.DataFrame:
    """Two common wards, one ward held by a single planted record, and that record's age."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "ward": rng.choice(["east", "west"], n),
            "age": np.round(rng.uniform(30, 60, n), 1),
            "died": rng.integers(0, 2, n),
        }
    )
    df.loc[0, ["ward", "age"]] = ["isolation", PLANTED_AGE]
    return df


@cache
def _private_fit() -> Any:
    prepared = prepare(_table(), target="died")  # its schema was inferred from the rows
    return get_generator("lm", epsilon=2.0, noise_seed=0, **TINY).fit(prepared)


def test_strict_bounds_refuse_a_prepared_table() -> None:
    prepared = prepare(_table(), target="died")
    with pytest.raises(HealthForgeError, match="needs a schema you supply"):
        get_generator("lm", epsilon=1.0, bounds="schema", **TINY).fit(prepared)


def test_cli_lm_strict_bounds_without_a_schema_is_refused(tmp_path) -> None:
    data = tmp_path / "d.csv"
    _table().to_csv(data, index=False)
    out = tmp_path / "out.csv"
    command = ["generate", str(data), "--target", "died", "-g", "lm", "-o", str(out)]
    args = ["--epsilon", "1", "--param", "bounds=schema", "--param", "dp_epochs=1"]
    done = CliRunner().invoke(app, [*command, *args])
    assert done.exit_code == 2, done.output
    assert "needs a schema you supply" in " ".join(done.output.split())
    assert not out.exists()


def test_a_prepared_tables_domain_is_released_with_dp() -> None:
    model = _private_fit()
    budget = model.dp_budget_
    assert budget["public_schema"] is False
    assert budget["split"]["rho_domain"] > 0
    assert "isolation" not in model.schema_["ward"].categories  # one record's category
    assert {"east", "west"} <= set(model.schema_["ward"].categories)
    # nor its exact age maximum: the bounds are edges of the public grid
    assert model.schema_["age"].maximum != PLANTED_AGE
    assert {model.schema_["age"].minimum, model.schema_["age"].maximum} <= set(BOUNDS_EDGES)
    out = model.sample(500, seed=0)
    assert "isolation" not in set(out["ward"].dropna())
    ages = out["age"].dropna()
    column = model.schema_["age"]
    assert ages.between(column.minimum, column.maximum).all()  # within the released bounds


def _walk(value: Any, path: str, seen: set[int]) -> list[tuple[str, Any]]:
    """Every (path, value) reachable from ``value`` through dicts, lists and objects."""
    if id(value) in seen:
        return []
    seen.add(id(value))
    found = [(path, value)]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        items = vars(value).items()
    else:
        return found
    for key, item in items:
        found += _walk(item, f"{path}.{key}", seen)
    return found


def test_a_dp_model_file_keeps_no_loss_history(tmp_path) -> None:
    path = tmp_path / "model.hfm"
    _private_fit().save(str(path))
    loaded = load_model(str(path))
    reachable = _walk(loaded, "model", set())
    # a loss, a history of losses or per-epoch metrics is a statistic of the private rows
    leaks = [
        p
        for p, _ in reachable
        if any(word in p.rsplit(".", 1)[-1].lower() for word in ("history", "loss"))
    ]
    assert leaks == [], leaks
    assert len(reachable) > 20  # the walk did reach the model's state
    assert loaded.epochs_trained_ == TINY["dp_epochs"]  # a public fact may stay
