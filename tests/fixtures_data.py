"""Shared test data: bundled datasets (loaded once) and a messy user-style extract."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from healthforge.data import load_table
from healthforge.data.infer import infer_schema
from healthforge.data.schema import Schema

BUNDLED = ("nhefs", "icu", "pima", "tissue_gene_expression")


@cache
def bundled(name: str) -> pd.DataFrame:
    return load_table(f"bundled:{name}")


def make_messy(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """A user's clinical extract: identifiers, mixed kinds, missing values, dates."""
    rng = np.random.default_rng(seed)
    first = np.array(["Ann", "Bob", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana"])
    last = np.array(["Smith", "Jones", "Okafor", "Nguyen", "Garcia", "Patel", "Kim"])
    age = rng.integers(18, 90, n)
    sex = rng.choice(["female", "male"], n)
    bmi = np.round(rng.normal(27, 4, n) + 0.05 * (age - 50), 1)
    bmi[rng.random(n) < 0.1] = np.nan
    sbp = np.round(100 + 0.6 * age + rng.normal(0, 10, n)).astype(int)
    diabetes = np.where(rng.random(n) < 1 / (1 + np.exp(-(bmi - 30) / 2)), "yes", "no")
    admitted = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    return pd.DataFrame(
        {
            "patient_id": [f"P{100000 + i}" for i in range(n)],
            "name": [f"{rng.choice(first)} {rng.choice(last)}" for _ in range(n)],
            "email": [f"user{i}@example.org" for i in range(n)],
            "ssn": [
                f"{rng.integers(100, 999)}-{rng.integers(10, 99)}-{rng.integers(1000, 9999)}"
                for _ in range(n)
            ],
            "phone": [
                f"(555) {rng.integers(100, 999)}-{rng.integers(1000, 9999)}" for _ in range(n)
            ],
            "address": [f"{rng.integers(1, 999)} Main Street" for _ in range(n)],
            "dob": (
                pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 20000, n), unit="D")
            ).strftime("%Y-%m-%d"),
            "age": age,
            "sex": sex,
            "region": rng.choice(["North", "South", "East", "West"], n, p=[0.4, 0.3, 0.2, 0.1]),
            "bmi": bmi,
            "sbp": sbp,
            "admitted": admitted.strftime("%Y-%m-%d"),
            "diabetes": diabetes,
            "smoker": rng.random(n) < 0.3,
        }
    )


def assert_rows_valid(generator, real: pd.DataFrame, synth: pd.DataFrame, tol: float) -> None:
    """Modelled columns in order, observed categories only, within real bounds, and
    missing rates within ``tol`` of the real ones."""
    assert list(synth.columns) == [c.name for c in generator.schema_.modelled]
    for column in generator.schema_.modelled:
        r, s = real[column.name], synth[column.name]
        if column.is_discrete:
            assert set(s.dropna().astype(str)) <= set(r.dropna().astype(str)), column.name
        else:
            values = pd.to_numeric(s, errors="coerce").dropna()
            assert values.min() >= r.min() - 1e-9 and values.max() <= r.max() + 1e-9, column.name
        assert abs(s.isna().mean() - r.isna().mean()) < tol, column.name


# -- a small clinical table with a canary row, for DP leak tests ------------------------
CANARY_AGE = 119
CANARY_DX = "RARE_X"


def canary_table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """``(n, 5)``: age, sex, dx, bp (depends on age), died (depends on age)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(20, 81, n)
    sex = rng.choice(["F", "M"], n)
    dx = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    bp = np.round(100 + 0.6 * age + rng.normal(0, 8, n), 1)
    died = (rng.random(n) < 1 / (1 + np.exp(-(age - 60) / 8))).astype(int)
    return pd.DataFrame({"age": age, "sex": sex, "dx": dx, "bp": bp, "died": died})


def with_canary(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` plus one record with a unique extreme age and a unique diagnosis."""
    canary = pd.DataFrame(
        {"age": [CANARY_AGE], "sex": ["F"], "dx": [CANARY_DX], "bp": [250.0], "died": [1]}
    )
    return pd.concat([df, canary], ignore_index=True)


def canary_public_schema(df: pd.DataFrame) -> Schema:
    """Bounds and categories a data steward would write from domain knowledge."""
    schema = infer_schema(df, target="died")
    public = {"age": (18, 90), "bp": (60, 220)}
    for column in schema.columns:
        if column.name in public:
            column.minimum, column.maximum = public[column.name]
        if column.name == "dx":
            column.categories = ["a", "b", "c"]
    return schema


# a canary inside the public schema's domain (canary_public_schema): nothing strips or clips
# it before the mechanism runs, and no other row of canary_table comes near it (ages 20-80,
# bp at most ~180), so it alone fills the region age >= 85 or bp >= 200
DOMAIN_CANARY = {"age": 89, "sex": "F", "dx": "c", "bp": 218.0, "died": 0}


def with_domain_canary(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` plus :data:`DOMAIN_CANARY`, the one record in its rare region."""
    return pd.concat([df, pd.DataFrame([DOMAIN_CANARY])], ignore_index=True)


def in_canary_region(df: pd.DataFrame) -> pd.Series:
    """Rows in the region only the domain canary occupies."""
    return (pd.to_numeric(df["age"]) >= 85) | (pd.to_numeric(df["bp"]) >= 200)
