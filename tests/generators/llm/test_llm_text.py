"""The llm generator's text format and learning-rate schedule, without loading a model."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from healthforge.data.schema import ColumnSchema
from healthforge.generators.llm.model import lr_factor
from healthforge.generators.llm.text import column_labels, column_text, serialise


def _chars(texts: list[str]) -> list[list[int]]:
    """A character-level stand-in tokenizer: one id per character."""
    return [[ord(ch) for ch in text] for text in texts]


def _text(ids: list[int]) -> str:
    return "".join(chr(i) for i in ids)


def test_rows_are_written_name_equals_value_without_spaces() -> None:
    age = ColumnSchema("age_group", "categorical", categories=["18-44", "65-74"])
    bmi = ColumnSchema("bmi", "continuous", minimum=20.0, maximum=21.0, decimals=1)
    labels = column_labels(["age_group", "bmi"])
    assert labels == ["age group", "bmi"]
    cols = [
        column_text(age, np.array([0.0, 1.0]), _chars, False, labels[0]),
        column_text(bmi, np.array([20.5]), _chars, False, labels[1]),
    ]
    sep, eos = ord(","), ord("$")
    ids, learn = serialise(cols, np.array([1.0, 20.5]), np.array([1, 0]), None, sep, eos)
    assert _text(ids) == "bmi=20.5,age group=65-74$"
    # loss on the value and the separator that ends it, never on the forced prefix
    learned = "".join(ch for ch, flag in zip(_text(ids), learn, strict=True) if flag)
    assert learned == "20.5,65-74$"


def test_labels_that_would_collide_keep_the_column_names() -> None:
    assert column_labels(["a_b", "a b", "c"]) == ["a_b", "a b", "c"]


@pytest.mark.parametrize("steps", [1, 7, 120])
def test_schedule_warms_up_then_decays_to_zero(steps: int) -> None:
    factors = [lr_factor(s, steps, 0.1) for s in range(steps)]
    peak = int(np.argmax(factors))
    assert factors[peak] == pytest.approx(1.0)
    assert all(a <= b for a, b in itertools.pairwise(factors[: peak + 1]))
    assert all(a >= b for a, b in itertools.pairwise(factors[peak:]))
    if steps > 2:
        assert factors[-1] < 0.1  # the last steps settle at a small rate
    if steps >= 20:
        assert factors[0] < 0.5  # a real warmup


def test_constant_schedule_stays_flat_after_the_warmup() -> None:
    assert [lr_factor(s, 10, 0.2, "constant") for s in range(10)] == [0.5] + [1.0] * 9
