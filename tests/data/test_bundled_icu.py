"""The bundled ICU table as its description says it is (issue #25)."""

from __future__ import annotations

import pandas as pd

from healthforge.data.bundled import get_dataset


def test_icu_white_is_race_with_swapped_labels_as_the_description_says() -> None:
    dataset = get_dataset("icu")
    table = dataset.load()
    pairs = pd.crosstab(table["race"], table["white"])
    # every race=White patient reads Non-white, every other patient White
    assert pairs.loc["White", "Non-white"] == 175 and pairs.loc["White", "White"] == 0
    assert pairs.drop(index="White")["Non-white"].sum() == 0
    assert pairs.drop(index="White")["White"].sum() == 25
    assert "labels are swapped" in dataset.description


def test_icu_coma_keeps_its_none_level() -> None:
    coma = get_dataset("icu").load()["coma"]
    assert coma.isna().sum() == 0
    assert coma.value_counts().to_dict() == {"None": 185, "Coma": 10, "Stupor": 5}
