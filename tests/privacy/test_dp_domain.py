"""DP domain release without a public schema, and invalid privacy settings (issue 6)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from healthforge.cli.app import app
from healthforge.data.prepare import prepare
from healthforge.errors import HealthForgeError
from healthforge.generators import get_generator


def _wide(n: int = 300, columns: int = 40, seed: int = 0) -> pd.DataFrame:
    """Many 0/1 columns, as NHEFS has: the case that used to be refused at ε = 1."""
    rng = np.random.default_rng(seed)
    data = {f"b{j}": rng.integers(0, 2, n) for j in range(columns)}
    data["age"] = rng.integers(20, 81, n)
    data["died"] = rng.integers(0, 2, n)
    return pd.DataFrame(data)


def test_boolean_columns_are_released_free_without_a_schema() -> None:
    model = get_generator("dp_copula", epsilon=1.0, noise_seed=0)
    model.fit(_wide(), target="died")
    booleans = [c for c in model.schema_.modelled if c.kind == "boolean"]
    assert len(booleans) == 41  # 40 columns and the target, domain {0, 1} by kind
    assert all(c.categories == [0, 1] for c in booleans)
    split = model.dp_budget_["split"]["domain"]
    assert split["rho_category_selection"] == 0  # nothing spent on them
    out = model.sample(500, seed=0)
    assert set(out["b0"].dropna().unique()) <= {0, 1}


def test_unique_ordinal_code_is_not_released_without_a_schema() -> None:
    rng = np.random.default_rng(1)
    df = _wide(3000, 3)
    df["grade"] = rng.integers(0, 3, len(df))
    df.loc[0, "grade"] = 9  # one patient's unique code
    model = get_generator("mst", epsilon=5.0, noise_seed=0).fit(df, target="died")
    assert 9 not in model.schema_["grade"].categories
    assert 9 not in set(model.sample(3000, seed=0)["grade"].dropna())
    assert "9" not in json.dumps(model.schema_["grade"].categories)


def test_a_column_that_cannot_be_released_is_named() -> None:
    rng = np.random.default_rng(2)
    df = _wide(120, 2)
    df["ward"] = rng.choice(["east", "west", "north"], len(df))
    with pytest.raises(HealthForgeError, match="column 'ward'") as caught:
        get_generator("dp_copula", epsilon=1.0, noise_seed=0).fit(df, target="died")
    assert "--schema" in (caught.value.hint or "")


def test_a_prepared_table_is_not_a_public_schema() -> None:
    prepared = prepare(_wide(), target="died")  # its schema was inferred from the rows
    with pytest.raises(HealthForgeError, match="needs a schema you supply"):
        get_generator("dp_copula", bounds="schema").fit(prepared)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epsilon", "0"], "epsilon must be a positive"),
        (["--epsilon", "-2"], "epsilon must be a positive"),
        (["--delta", "1"], "delta must lie strictly between 0 and 1"),
        (["--delta", "0.5"], "is not below 1 / "),
        (["--param", "bounds=schema"], "needs a schema you supply"),
    ],
)
def test_cli_invalid_privacy_settings_are_one_line_errors(tmp_path, args, message) -> None:
    data = tmp_path / "d.csv"
    _wide(200, 3).to_csv(data, index=False)
    out = tmp_path / "out.csv"
    command = ["generate", str(data), "--target", "died", "-g", "mst", "-o", str(out)]
    done = CliRunner().invoke(app, [*command, *args])
    assert done.exit_code == 2, done.output
    assert message in " ".join(done.output.split()) and "Traceback" not in done.output
    assert not out.exists()
