"""The user's store: what the policy learnt survives a save and a reload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from healthforge.errors import HealthForgeError
from healthforge.selection import MetaFeatures, Reward, SelectionStore, record
from healthforge.selection.store import default_store_path

META = MetaFeatures(
    rows=500, columns=12, share_categorical=0.5, missingness=0.01, target="y", target_minority=0.3
)


def test_round_trip_keeps_every_observation(tmp_path: Path) -> None:
    path = tmp_path / "u.json"
    store = SelectionStore.open(path)
    record(META, "cart", Reward(0.9, 0.8, 0.7, 1.5), store)
    record(META, "aim", Reward(0.2, 0.6, 0.99, 40.0), store, privacy="strict")
    again = SelectionStore.open(path)
    assert [o.to_dict() for o in again.observations] == [o.to_dict() for o in store.observations]
    assert again.observations[1].epsilon == 1.0  # aim's default budget, made explicit
    assert again.observations[0].meta == META


def test_no_row_values_are_stored(tmp_path: Path) -> None:
    store = SelectionStore.open(tmp_path / "u.json")
    record(META, "cart", Reward(0.9, 0.8, 0.7, 1.5), store)
    data = json.loads((tmp_path / "u.json").read_text())
    assert set(data["observations"][0]["meta"]) == set(META.to_dict())


def test_default_path_is_per_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALTHFORGE_SELECTION_DIR", str(tmp_path))
    assert default_store_path("ann") != default_store_path("bob")
    assert default_store_path("../etc/x").parent == tmp_path


def test_a_damaged_store_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "u.json"
    path.write_text("{not json")
    with pytest.raises(HealthForgeError, match="cannot read the selection store"):
        SelectionStore.open(path)


def test_unknown_generator_is_not_recorded(tmp_path: Path) -> None:
    store = SelectionStore.open(tmp_path / "u.json")
    with pytest.raises(HealthForgeError, match="unknown generator"):
        record(META, "nonesuch", Reward(0.9, 0.8, 0.7), store)
    assert store.observations == []


def test_two_writers_keep_both_observations(tmp_path: Path) -> None:
    """Two conversations of one user, each with the store open: neither loses the other's
    run when it saves."""
    path = tmp_path / "u.json"
    first, second = SelectionStore.open(path), SelectionStore.open(path)
    record(META, "cart", Reward(0.9, 0.8, 0.7), first)
    record(META, "arf", Reward(0.5, 0.5, 0.5), second)
    record(META, "bayesian_network", Reward(0.6, 0.6, 0.6), first)
    names = [o.generator for o in SelectionStore.open(path).observations]
    assert names == ["cart", "arf", "bayesian_network"]
    assert [o.generator for o in first.observations] == names
