from __future__ import annotations

import pytest

from healthforge.distributed.plan import check_shard_rows, shard_plan, shard_seed
from healthforge.errors import HealthForgeError
from healthforge.generators import CHUNK_ROWS


def test_plan_covers_every_row_once_in_fixed_shards() -> None:
    plan = shard_plan(1_234_567, 500_000)
    assert [(s.index, s.start, s.rows) for s in plan] == [
        (0, 0, 500_000),
        (1, 500_000, 500_000),
        (2, 1_000_000, 234_567),
    ]
    assert shard_plan(10, CHUNK_ROWS)[0].rows == 10


@pytest.mark.parametrize("bad", [0, -CHUNK_ROWS, CHUNK_ROWS + 1, 1.5, True])
def test_shard_rows_must_be_whole_chunks(bad: object) -> None:
    with pytest.raises(HealthForgeError):
        check_shard_rows(bad)  # type: ignore[arg-type]


def test_shard_seeds_depend_on_seed_and_index_only() -> None:
    seeds = {shard_seed(7, i) for i in range(100)}
    assert len(seeds) == 100
    assert shard_seed(7, 3) == shard_seed(7, 3) != shard_seed(8, 3)
