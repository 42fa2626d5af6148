"""Generators behind an optional extra stay out of "all" lists when the extra is missing."""

from __future__ import annotations

import importlib.util

import pytest

from healthforge.generators import registry


def test_missing_extra_leaves_the_generator_out_of_all_lists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "peft" else real_find_spec(name, *a),
    )
    assert registry.missing_extra("llm") == "llm"
    assert registry.missing_extra("cart") is None
    assert "llm" in registry.generator_names()
    assert "llm" not in registry.generator_names(installed_only=True)
    assert "cart" in registry.generator_names(installed_only=True)


def test_private_generator_names_feed_the_hints() -> None:
    names = registry.private_generator_names()
    assert {"aim", "mst", "dp_copula", "lm"} <= set(names)
    assert "cart" not in names and "llm" not in names
