"""``lm``'s order relations: learnt from the training rows, kept while writing tokens."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

from healthforge.generators import get_generator
from healthforge.generators.lm.orders import Order, learn_orders

pytest.importorskip("torch")

TINY = {"epochs": 5, "d_model": 32, "n_layers": 2, "n_heads": 4, "threads": 1, "lr": 1e-2}


@cache
def smokers(n: int = 400) -> pd.DataFrame:
    """Years smoked never exceed age; the intensity after a change is never negative."""
    rng = np.random.default_rng(0)
    age = np.round(rng.uniform(25, 75, n), 1)
    years = np.round(age * rng.uniform(0.0, 0.8, n), 1)
    intensity = rng.integers(0, 41, n).astype(float)
    later = np.maximum(0, intensity + rng.integers(-30, 11, n))
    noise = np.round(rng.normal(0, 1, n), 2)
    return pd.DataFrame(
        {"age": age, "years": years, "intensity": intensity, "change": later - intensity,
         "noise": noise}
    )  # fmt: skip


def _holds(order: Order, X: np.ndarray) -> bool:
    y = X[:, order.high] - order.sign * X[:, order.low]
    return bool(((y >= order.lo - 1e-9) & (y <= order.hi + 1e-9)).all())


def test_order_relations_are_learnt_and_chance_ones_are_not() -> None:
    df = smokers()
    X = df.to_numpy(dtype=float)
    found = learn_orders(X, [False] * X.shape[1])
    pairs = {(o.low, o.high, o.sign): o for o in found}
    # years - age <= 0 (age is column 0, years column 1)
    assert (0, 1, 1.0) in pairs and pairs[(0, 1, 1.0)].hi <= 0
    # change + intensity >= 0
    assert (2, 3, -1.0) in pairs and pairs[(2, 3, -1.0)].lo == 0
    assert all(_holds(o, X) for o in found)
    assert not any(4 in (o.low, o.high) for o in found)  # independent noise: no bound
    assert learn_orders(X, [False, True, False, False, False], exclude=[3]) == [
        o for o in found if 1 not in (o.low, o.high) and 3 not in (o.low, o.high)
    ]


def test_partner_interval_in_both_directions() -> None:
    order = Order(low=0, high=1, sign=-1.0, lo=0.0, hi=50.0)  # 0 <= x1 + x0 <= 50
    low, high = order.partner_interval(0, np.array([10.0]), np.array([20.0]))
    assert low[0] == -20.0 and high[0] == 40.0  # x1 in [-x0, 50 - x0], x0 in [10, 20]
    low, high = order.partner_interval(1, np.array([-5.0]), np.array([-5.0]))
    assert low[0] == 5.0 and high[0] == 55.0


@cache
def fitted(hard_rules: bool = True):
    return get_generator("lm", hard_rules=hard_rules, **TINY).fit(smokers())


def test_generated_rows_keep_the_order_relations() -> None:
    # 5 epochs teach the network little; the bounds still hold in every row
    gen = fitted()
    assert gen.orders_
    for synth in (gen.sample(2000, seed=1), gen.sample(500, seed=2, conditions=["years>=30"])):
        assert (synth["years"] <= synth["age"]).all()
        assert (synth["intensity"] + synth["change"] >= 0).all()
    assert (synth["years"] >= 30).all() and gen.sample_stats_["rejected_conditions"] == 0
    loose = fitted(False).sample(2000, seed=1)
    assert not fitted(False).orders_
    broken = (loose["years"] > loose["age"]) | (loose["intensity"] + loose["change"] < 0)
    assert broken.any()  # without them the same network breaks them
