"""The GReaT peer finds the local model healthforge's llm converted, and never the hub."""

from __future__ import annotations

from pathlib import Path

import pytest

from healthforge.benchmark.peer_runner import great_model_dir
from healthforge.benchmark.peers import parse_peer


def test_great_joins_the_converted_weights_and_tokenizer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    (cache / "llm" / "abc" / "model").mkdir(parents=True)
    (cache / "llm" / "abc" / "model" / "config.json").write_text("{}")
    (cache / "llm" / "abc" / "model" / "model.safetensors").write_text("w")
    (cache / "llm" / "abc" / "tokenizer").mkdir()
    (cache / "llm" / "abc" / "tokenizer" / "tokenizer.json").write_text("t")
    monkeypatch.setenv("HEALTHFORGE_CACHE", str(cache))
    work = tmp_path / "work"
    work.mkdir()
    joined = Path(great_model_dir({}, str(work)))
    assert sorted(p.name for p in joined.iterdir()) == [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
    ]
    assert great_model_dir({"llm": "/models/x"}, str(work)) == "/models/x"


def test_great_without_a_converted_model_says_how_to_get_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEALTHFORGE_CACHE", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="fit healthforge's llm generator once"):
        great_model_dir({}, str(tmp_path))


def test_great_is_a_known_peer() -> None:
    assert parse_peer("great") == ("great", ("great",))
