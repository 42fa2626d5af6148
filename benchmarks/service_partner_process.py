"""What running each conversation's partner in its own process costs.

    PYTHONPATH=src:. .venv/bin/python benchmarks/service_partner_process.py [--repeats 5]

Prints, for ``--repeats`` new conversations on a 120-row table (the tests' messy
fixture): the time of the first reply to "profile" (it starts the partner process:
interpreter, library imports, the dataset), of the second (the process is warm), and the
resident memory of one partner process (``/proc/PID/status`` VmRSS) after both.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from tests.service.helpers import Api, make_config
from tests.service.test_partner import opened, talk

from healthforge.service.app import create_app
from healthforge.service.auth import create_user


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    config = make_config(Path(tempfile.mkdtemp()), max_jobs=2, max_jobs_per_user=1)
    app = create_app(config)
    token = create_user(app.state.service.db, "alice")
    headers = {"Authorization": f"Bearer {token}"}
    first, later, memory = [], [], []
    with TestClient(app) as client:
        api = Api(client, config, headers, headers)
        manager = app.state.service.conversations
        for _ in range(repeats):
            _, cid = opened(api)
            for times in (first, later):
                started = time.perf_counter()
                talk(api, f"/api/conversations/{cid}/messages", {"text": "profile"})
                times.append(time.perf_counter() - started)
            memory.append(rss_mb(manager.partners[cid].proc.pid))
    print(f"first reply (starts the process): median {statistics.median(first):.2f} s")
    print(f"later reply: median {statistics.median(later):.2f} s")
    print(f"one partner process: median {statistics.median(memory):.0f} MB resident")


if __name__ == "__main__":
    main()
