"""Size-adaptive leaf sizes of cart and arf: the rules, and what they do on a small table."""

from __future__ import annotations

import numpy as np
import pytest

from healthforge.errors import HealthForgeError
from healthforge.generators import get_generator
from healthforge.generators.tree.arf import arf_min_leaf
from healthforge.generators.tree.cart import adaptive_min_leaf
from tests.fixtures_data import bundled


def test_cart_leaf_grows_with_the_table_up_to_a_cap() -> None:
    sizes = [adaptive_min_leaf(n) for n in (2, 10, 50, 160, 225, 1252, 100_000)]
    assert sizes == [5, 6, 14, 25, 25, 25, 25]


def test_arf_leaf_is_larger_on_small_tables_and_synthpops_5_on_large_ones() -> None:
    assert [arf_min_leaf(n) for n in (50, 160, 320, 640, 1252)] == [20, 20, 10, 5, 5]


def test_auto_leaf_sizes_are_used_and_explicit_ones_win() -> None:
    icu = bundled("icu")  # 200 rows, target 'died'
    cart = get_generator("cart", seed=0).fit(icu, target="died")
    assert cart.min_leaf_ == adaptive_min_leaf(200) == 25 and cart.target_min_leaf_ == 5
    target_step = cart.order_.index(cart.target_index_)
    assert cart.value_models_[target_step][0].min_samples_leaf == 5  # the target keeps 5
    other = cart.value_models_[1][0]
    assert other is None or other.min_samples_leaf == 25
    fixed = get_generator("cart", seed=0, min_samples_leaf=7).fit(icu)
    assert fixed.min_leaf_ == 7
    arf = get_generator("arf", seed=0, n_estimators=5, max_iters=1).fit(icu)
    assert arf.min_leaf_ == arf_min_leaf(200) == 16
    assert np.all(arf.counts_ >= 16)  # every sampling region has that many real donors


@pytest.mark.parametrize("name", ["cart", "arf"])
@pytest.mark.parametrize("bad", [0, "big", 2.5, True])
def test_bad_leaf_sizes_are_clear_errors(name: str, bad: object) -> None:
    with pytest.raises(HealthForgeError, match="min_samples_leaf"):
        get_generator(name, min_samples_leaf=bad).fit(bundled("icu"))
