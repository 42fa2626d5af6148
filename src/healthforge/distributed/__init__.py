"""Scaling out: sharded sampling to partitioned Parquet and sweeps, on this machine or Ray.

The local backend is the default and the reference: the Ray backend
(``pip install 'healthforge[ray]'``) runs the same task functions on the same plans, so
its outputs are the same bytes and figures. ``docs/scaling.md`` says how to use a cluster.
"""

from healthforge.distributed.backends import BACKENDS, get_executor
from healthforge.distributed.executor import Executor, LocalExecutor, Outcome, Resources
from healthforge.distributed.plan import DEFAULT_SHARD_ROWS, Shard, shard_plan, shard_seed
from healthforge.distributed.shards import ShardedSample, sample_to_folder

__all__ = [
    "BACKENDS",
    "DEFAULT_SHARD_ROWS",
    "Executor",
    "LocalExecutor",
    "Outcome",
    "Resources",
    "Shard",
    "ShardedSample",
    "get_executor",
    "sample_to_folder",
    "shard_plan",
    "shard_seed",
]
