"""Constructed data whose evaluation answers are known in advance."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_patients(n: int, seed: int) -> pd.DataFrame:
    """A small mixed-type generative process: correlated numerics, categories, NaN, and a
    binary outcome that depends on them."""
    rng = np.random.default_rng(seed)
    age = rng.normal(55, 12, n).round()
    sex = rng.choice(["F", "M"], n)
    bmi = 22 + 0.08 * (age - 55) + rng.normal(0, 3, n) + np.where(sex == "M", 1.0, 0.0)
    sbp = 100 + 0.6 * age + 1.2 * (bmi - 25) + rng.normal(0, 8, n)
    smoker = np.where(rng.random(n) < 0.2 + 0.2 * (sex == "M"), "yes", "no")
    region = rng.choice(["north", "south", "east", "west"], n, p=[0.4, 0.3, 0.2, 0.1])
    glucose = 90 + 0.5 * (bmi - 25) * 3 + rng.gamma(2, 5, n)
    logit = (
        -1.0 + 0.05 * (age - 55) + 0.15 * (bmi - 25) + 0.9 * (smoker == "yes") + 0.02 * (sbp - 133)
    )
    died = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    df = pd.DataFrame(
        {
            "age": age,
            "sex": sex,
            "bmi": bmi.round(1),
            "sbp": sbp.round(0),
            "smoker": smoker,
            "region": region,
            "glucose": glucose.round(1),
            "died": died,
        }
    )
    df.loc[rng.random(n) < 0.08, "glucose"] = np.nan
    df.loc[rng.random(n) < 0.05, "region"] = None
    return df


def make_correlated(n: int, seed: int) -> pd.DataFrame:
    """Columns driven by one latent factor: strong dependence, easy to break by shuffling."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    df = pd.DataFrame({f"x{i}": (z + 0.3 * rng.normal(size=n)).round(3) for i in range(4)})
    df["level"] = np.where(z + 0.3 * rng.normal(size=n) > 0, "high", "low")
    df["outcome"] = np.where(z + 0.5 * rng.normal(size=n) > 0.3, "yes", "no")
    return df


def shuffle_columns(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Every column permuted on its own: marginals kept exactly, dependence destroyed."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: df[c].to_numpy()[rng.permutation(len(df))] for c in df.columns})


FAST = {"n_estimators": 50}  # fewer boosting rounds keep the test suite quick
