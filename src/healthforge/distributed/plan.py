"""The shard plan of a large sample: fixed-size shards that depend on the seed and the
number of rows only, never on how many workers draw them.

Shard ``i`` holds rows ``[i * shard_rows, min((i + 1) * shard_rows, n))``. Drawn without
the privacy filter, a shard continues the seed's one stream of chunks
(:meth:`Generator.sample_chunks` with ``offset``), so the shards laid end to end are
exactly the rows of one local ``sample(n, seed)``. With the filter (which redraws removed
rows) each shard draws from its own seed, :func:`shard_seed`, derived from the run's
seed and the shard's index alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from healthforge.errors import HealthForgeError
from healthforge.generators import CHUNK_ROWS

DEFAULT_SHARD_ROWS = 1_000_000  # 20 chunks: large enough to amortise a task, small for RAM


@dataclass(frozen=True)
class Shard:
    index: int
    start: int  # first row (a multiple of CHUNK_ROWS)
    rows: int


def check_shard_rows(shard_rows: int) -> int:
    if isinstance(shard_rows, bool) or not isinstance(shard_rows, int) or shard_rows <= 0:
        raise HealthForgeError(f"shard_rows must be a positive whole number, not {shard_rows!r}")
    if shard_rows % CHUNK_ROWS:
        raise HealthForgeError(
            f"shard_rows must be a multiple of {CHUNK_ROWS:,} (the sampling chunk), "
            f"not {shard_rows:,}",
            f"use e.g. {DEFAULT_SHARD_ROWS:,}",
        )
    return shard_rows


def shard_plan(n: int, shard_rows: int = DEFAULT_SHARD_ROWS) -> list[Shard]:
    """The shards of ``n`` rows (the same for every backend and number of workers)."""
    check_shard_rows(shard_rows)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n <= 0:
        raise HealthForgeError(f"number of rows must be a positive whole number, not {n!r}")
    return [
        Shard(index=i, start=start, rows=min(shard_rows, int(n) - start))
        for i, start in enumerate(range(0, int(n), shard_rows))
    ]


def shard_seed(seed: int, index: int) -> int:
    """The seed of shard ``index`` of a run seeded ``seed`` (filtered sampling)."""
    sequence = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(index)])
    return int(sequence.generate_state(1, dtype=np.uint32)[0])
