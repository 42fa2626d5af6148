"""Model files written before the generator modules moved still load and sample the same.

``data/legacy/*.hfm`` were written at commit 9113bdb (flat ``healthforge.generators.*``
modules) by ``data/legacy/make_legacy.py``, with ``*.csv`` the rows each sampled then.
"""

from __future__ import annotations

import io
import pickletools
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from healthforge.generators import get_generator, load_model
from tests.generators.data.legacy.models import LEGACY, training_data

LEGACY_DIR = Path(__file__).parent / "data" / "legacy"


def _pickled_modules(path: Path) -> set[str]:
    """healthforge module paths the model file's pickle names."""
    with zipfile.ZipFile(path) as archive:
        state = archive.read("state.pkl")
    return {
        arg
        for _, arg, _ in pickletools.genops(io.BytesIO(state))
        if isinstance(arg, str) and arg.startswith("healthforge.generators.")
    }


def test_the_legacy_files_name_the_old_flat_modules() -> None:
    # guards the test below: files re-written with today's paths would test nothing
    named = set().union(*(_pickled_modules(LEGACY_DIR / f"{n}.hfm") for n in LEGACY))
    assert {
        "healthforge.generators.cart",
        "healthforge.generators.dp_base",
        "healthforge.generators.neural_transform",
    } <= named


@pytest.mark.parametrize("name", list(LEGACY))
def test_a_legacy_model_samples_its_recorded_rows_and_a_fresh_fits(name: str) -> None:
    model = load_model(LEGACY_DIR / f"{name}.hfm")
    rows = model.sample(40, seed=5)
    assert rows.to_csv(index=False) == (LEGACY_DIR / f"{name}.csv").read_text()
    generator, params, public = LEGACY[name]
    data, schema = training_data()
    fresh = get_generator(generator, **params).fit(data, schema if public else None)
    pd.testing.assert_frame_equal(fresh.sample(40, seed=5), rows)
