"""Which text cells a table reader turns into missing values (issue #25).

pandas reads "None" as missing by default; in a clinical table it is a category (ICU's
coma: None/Stupor/Coma). A run that writes its rows to CSV and evaluates them as read
back (the CLI's ``generate --evaluate``) must see the levels it wrote, or the detector
tells real from synthetic by a missing value in nearly every row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from healthforge.data import load_table
from healthforge.data.io import WRITTEN_NA, write_table


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.csv"
    path.write_text(text)
    return path


def test_none_is_a_level_but_r_and_empty_markers_are_missing(tmp_path: Path) -> None:
    path = _csv(tmp_path, "coma,x\nNone,1\nStupor,NA\nNA,\n,2\nnull,3\n")
    df = load_table(path)
    assert df["coma"].tolist()[:2] == ["None", "Stupor"]
    assert df["coma"].isna().tolist() == [False, False, True, True, True]
    assert df["x"].isna().tolist() == [False, True, True, False, False]
    assert pd.api.types.is_numeric_dtype(df["x"])


def test_written_markers_keep_every_level_but_the_empty_cell(tmp_path: Path) -> None:
    path = _csv(tmp_path, "level,x\nNA,1\nNone,\nnull,2\n,3\n")
    df = load_table(path, na_values=WRITTEN_NA)
    assert df["level"].tolist()[:3] == ["NA", "None", "null"]
    assert df["level"].isna().tolist() == [False, False, False, True]
    assert df["x"].isna().tolist() == [False, True, False, False]


def test_bundled_icu_round_trips_through_csv(tmp_path: Path) -> None:
    real = load_table("bundled:icu")
    assert (real["coma"] == "None").sum() > 100  # the level the default reader dropped
    path = tmp_path / "icu.csv"
    write_table(real, path)
    for na_values in (None, WRITTEN_NA):
        back = load_table(path) if na_values is None else load_table(path, na_values=na_values)
        pd.testing.assert_frame_equal(back, real, check_dtype=False, check_column_type=False)
        assert back.isna().sum().sum() == real.isna().sum().sum() == 0


def test_a_missing_cell_written_by_us_reads_back_missing(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"coma": pd.Series(["None", np.nan, "Coma"], dtype="str"), "age": [1.5, np.nan, 3.0]}
    )
    path = tmp_path / "m.csv"
    write_table(frame, path)
    back = load_table(path, na_values=WRITTEN_NA)
    assert back["coma"].isna().tolist() == [False, True, False]
    assert back["age"].isna().tolist() == [False, True, False]
