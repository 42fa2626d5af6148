"""Under the strict (DP) preset: only DP generators, and never the user's evaluations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from healthforge.generators import describe
from healthforge.selection import MetaFeatures, Reward, SelectionStore, load_evidence, recommend
from healthforge.selection import record as record_run
from tests.selection.conftest import harness_file

ALPHA = MetaFeatures(rows=800, columns=12)


class SpyStore(SelectionStore):
    """A store whose observations fail the test when anything reads them."""

    @property  # type: ignore[override]
    def observations(self) -> list:
        raise AssertionError("the policy read the user's evaluations")

    @observations.setter
    def observations(self, value: list) -> None:
        self._obs = value


def test_strict_ranks_only_dp_generators(results_dir: Path) -> None:
    # a mislabelled file: a non-DP generator's runs carrying an epsilon
    mislabelled = harness_file({"bayesian_network": (0.5, 1.0, 0.5, 1.0, 1.0)})
    for run in mislabelled["runs"]:
        run["epsilon"] = 1.0
    (results_dir / "mislabelled.json").write_text(json.dumps(mislabelled))
    rec = recommend(ALPHA, privacy="strict", evidence=load_evidence(results_dir))
    assert {c.name for c in rec.ranked} == {"aim", "dp_copula"}
    assert all(describe(c.name).differential_privacy for c in rec.ranked)
    assert all(c.params == {"epsilon": 1.0} for c in rec.ranked)


def test_strict_never_reads_the_users_evaluations(results_dir: Path) -> None:
    evidence = load_evidence(results_dir)
    rec = recommend(ALPHA, privacy="strict", store=SpyStore(), evidence=evidence)
    assert not rec.used_private_evaluation
    assert "no evaluation on your data was used" in rec.explanation
    with pytest.raises(AssertionError, match="read the user's evaluations"):
        recommend(ALPHA, privacy="none", store=SpyStore(), evidence=evidence)


def test_strict_ranking_ignores_evaluations_that_change_a_non_dp_one(results_dir: Path) -> None:
    evidence = load_evidence(results_dir)
    store = SelectionStore()
    for _ in range(20):  # the user's evaluations say aim is excellent, dp_copula awful
        record_run(ALPHA, "aim", Reward(1.0, 1.0, 1.0, 1.0), store, save=False)
        record_run(ALPHA, "dp_copula", Reward(0.0, 0.0, 0.0, 1.0), store, save=False)
    for seed in range(5):
        strict = recommend(ALPHA, privacy="strict", store=store, seed=seed, evidence=evidence)
        alone = recommend(ALPHA, privacy="strict", store=None, seed=seed, evidence=evidence)
        assert [(c.name, c.score) for c in strict.ranked] == [
            (c.name, c.score) for c in alone.ranked
        ]
    loose = recommend(ALPHA, privacy="none", store=store, evidence=evidence)
    assert loose.used_private_evaluation
    assert "itself a use of that data" in loose.explanation


def test_real_results_strict_is_dp_only() -> None:
    """The repository's own results: strict ranks DP generators only, with evidence."""
    rec = recommend(MetaFeatures(rows=1500, columns=40, share_categorical=0.5), privacy="strict")
    assert rec.ranked and all(describe(c.name).differential_privacy for c in rec.ranked)
    assert all(c.n_evidence > 0 for c in rec.ranked)
