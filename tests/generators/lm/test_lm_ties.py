"""``lm``'s ties: a category that puts two numeric columns on a diagonal, kept while writing."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

from healthforge.generators import get_generator
from healthforge.generators.lm.ties import Tie, TieBook, learn_ties
from healthforge.generators.lm.tokenizer import Tokenizer

pytest.importorskip("torch")

TINY = {"epochs": 5, "d_model": 32, "n_layers": 2, "n_heads": 4, "threads": 1, "lr": 1e-2}


@cache
def quitters(n: int = 500, tied: bool = True) -> pd.DataFrame:
    """Everyone who quit (``quit = 1``) changed their intensity by exactly minus it
    (``tied``); otherwise quitting and the change are unrelated."""
    rng = np.random.default_rng(0)
    quit_ = (rng.random(n) < 0.3).astype(float)
    intensity = rng.integers(1, 41, n).astype(float)
    later = np.maximum(0, intensity + rng.integers(-10, 11, n))
    if tied:
        later[quit_ == 1] = 0
    age = np.round(rng.uniform(25, 75, n), 1)  # rows distinct, so none is a training copy
    return pd.DataFrame(
        {"quit": quit_, "intensity": intensity, "change": later - intensity, "age": age}
    )


def _codes(df: pd.DataFrame) -> tuple[np.ndarray, Tokenizer]:
    X = df.to_numpy(dtype=float)
    tokenizer = Tokenizer.from_data(X, [False] * 4, [0] * 4, 32)
    return tokenizer.encode(X, np.random.default_rng(0)), tokenizer


def test_the_tie_is_learnt_and_a_chance_one_is_not() -> None:
    codes, tokenizer = _codes(quitters())
    ties = learn_ties(codes, tokenizer)
    assert [(t.column, t.a, t.b, t.sign, t.offset) for t in ties] == [(0, 1, 2, -1.0, 0.0)]
    tie = ties[0]
    assert tokenizer.codecs[0].support[tie.token] == 1.0  # type: ignore[index]
    support_a, support_b = tokenizer.codecs[1].support, tokenizer.codecs[2].support
    mapped = np.flatnonzero(tie.a_to_b[: tie.a_levels] >= 0)
    assert len(mapped) > 30  # intensities whose negative is a change seen in training
    for k in mapped:  # each maps to its diagonal change, and back
        assert support_b[tie.a_to_b[k]] == -support_a[k]  # type: ignore[index]
        assert tie.b_to_a[tie.a_to_b[k]] == k
    codes, tokenizer = _codes(quitters(tied=False))
    assert learn_ties(codes, tokenizer) == []
    assert learn_ties(*_codes(quitters()), exclude=[2]) == []  # a recomputed column


def test_reorder_writes_the_category_before_the_later_partner() -> None:
    tie = Tie(0, 1, 1, 2, -1.0, 0.0, np.zeros(3, dtype=np.int64), np.zeros(3, dtype=np.int64), 3, 3)
    book = TieBook([tie], 4)
    orders = np.array([[1, 2, 3, 0], [0, 1, 2, 3], [2, 3, 1, 0], [3, 1, 0, 2]])
    assert book.reorder(orders).tolist() == [
        [1, 0, 2, 3],
        [0, 1, 2, 3],
        [2, 3, 0, 1],
        [3, 1, 0, 2],
    ]


@cache
def fitted(hard_rules: bool = True):
    return get_generator("lm", hard_rules=hard_rules, **TINY).fit(quitters())


def test_generated_rows_keep_the_tie_and_the_category_share() -> None:
    # 5 epochs teach the network little; the tie still holds in every row
    gen = fitted()
    assert len(gen.ties_) == 1
    for synth in (gen.sample(2000, seed=1), gen.sample(500, seed=2, conditions=["quit=1"])):
        quit_ = synth["quit"] == 1
        assert quit_.any()
        assert (synth.loc[quit_, "change"] == -synth.loc[quit_, "intensity"]).all()
    assert (synth["quit"] == 1).all() and gen.sample_stats_["rejected_conditions"] == 0
    share = (gen.sample(2000, seed=3)["quit"] == 1).mean()
    loose = fitted(False)
    assert not loose.ties_
    free = loose.sample(2000, seed=3)
    # the category is written before the later partner, so its share is the model's
    assert abs(share - (free["quit"] == 1).mean()) < 0.05
    on_diagonal = free["change"] == -free["intensity"]
    assert not on_diagonal[free["quit"] == 1].all()  # without them the same network breaks it


def test_no_ties_under_differential_privacy() -> None:
    gen = get_generator("lm", epsilon=5.0, dp_epochs=1, **TINY).fit(quitters())
    assert gen.ties_ == []
