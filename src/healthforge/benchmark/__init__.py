"""The benchmark harness: our generators and peer libraries on the same splits and metrics.

``run_benchmark(datasets, generators, peers=...)`` returns a :class:`BenchmarkResult`
that writes a Markdown table, JSON and an offline HTML plot. Peers (SDV, synthcity) run
in their own virtual environments under ``.peers/`` and are never imported here.
"""

from healthforge.benchmark.harness import run_benchmark
from healthforge.benchmark.peers import PEERS, install_peer, peer_status
from healthforge.benchmark.plan import Dataset, load_dataset
from healthforge.benchmark.records import RunRecord
from healthforge.benchmark.result import BenchmarkResult

__all__ = [
    "PEERS",
    "BenchmarkResult",
    "Dataset",
    "RunRecord",
    "install_peer",
    "load_dataset",
    "peer_status",
    "run_benchmark",
]
