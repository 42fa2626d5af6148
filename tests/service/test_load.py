"""A bounded load test on loopback: 20 concurrent clients (5 users) each upload a table,
start a run, poll it to the end and download the rows - a fixed number of requests, no
errors, no job lost."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.fixtures_data import make_messy
from tests.service.helpers import fast_spec
from tests.service.live import create_user, live_server

CLIENTS = 20
USERS = 5
TIMEOUT = 240  # seconds for the whole run: the test stops by itself


def client_run(url: str, token: str, index: int, deadline: float) -> dict:
    """One client's fixed script; returns its counts (requests, errors, job state)."""
    counts = {"requests": 0, "errors": 0, "state": None, "rows": 0}
    body = make_messy(80, seed=index).to_csv(index=False).encode()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:

        def call(method: str, path: str, **kw: object) -> httpx.Response:
            counts["requests"] += 1
            r = c.request(method, path, **kw)
            if r.status_code >= 400:
                counts["errors"] += 1
            return r

        dataset = call("POST", "/api/datasets", files={"file": (f"t{index}.csv", body)}).json()
        spec = fast_spec(dataset["id"], evaluation=False)
        job = call("POST", "/api/jobs", json={"spec": spec}).json()
        while time.monotonic() < deadline:
            state = call("GET", f"/api/jobs/{job['id']}").json()["state"]
            if state in ("done", "failed", "cancelled"):
                break
            time.sleep(0.5)
        counts["state"] = state
        if state == "done":
            counts["rows"] = (
                len(call("GET", f"/api/jobs/{job['id']}/files/synthetic").text.splitlines()) - 1
            )
        call("GET", "/api/datasets")
    return counts


def test_twenty_concurrent_clients(tmp_path: Path) -> None:
    data_dir = tmp_path / "service"
    tokens = [create_user(data_dir, f"user{i}") for i in range(USERS)]
    with live_server(data_dir, "--workers", "2", "--workers-per-user", "1") as server:
        deadline = time.monotonic() + TIMEOUT
        started = time.monotonic()
        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = [
                pool.submit(client_run, server.url, tokens[i % USERS], i, deadline)
                for i in range(CLIENTS)
            ]
            results = [f.result() for f in futures]
        seconds = time.monotonic() - started
    assert sum(r["errors"] for r in results) == 0
    assert [r["state"] for r in results] == ["done"] * CLIENTS
    assert all(r["rows"] > 0 for r in results)
    import sqlite3

    with sqlite3.connect(data_dir / "healthforge.db") as db:
        states = dict(db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())
    assert states == {"done": CLIENTS}  # every job accounted for, none lost or duplicated
    print(f"{CLIENTS} clients, {sum(r['requests'] for r in results)} requests, {seconds:.1f} s")
