"""A real server killed with ``kill -9`` in the middle of a job, then restarted: finished
results are all there, the interrupted job is failed with the reason, its worker died
with the server, and the job that was waiting in the queue runs after the restart."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import httpx

from tests.fixtures_data import make_messy
from tests.service.helpers import fast_spec, slow_spec
from tests.service.live import create_user, live_server


def _wait(client: httpx.Client, job_id: str, states: tuple[str, ...], timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in states:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} never reached {states}: {job}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too: it only waits for its parent to read its exit code
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_kill_9_mid_job_then_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "service"
    token = create_user(data_dir, "alice")
    headers = {"Authorization": f"Bearer {token}"}
    body = make_messy(150).to_csv(index=False).encode()
    args = ("--workers", "1")
    with live_server(data_dir, *args) as server:
        client = httpx.Client(base_url=server.url, headers=headers, timeout=30)
        dataset = client.post("/api/datasets", files={"file": ("t.csv", body)}).json()
        finished = _wait(
            client,
            client.post("/api/jobs", json={"spec": fast_spec(dataset["id"])}).json()["id"],
            ("done",),
        )
        synthetic = client.get(f"/api/jobs/{finished['id']}/files/synthetic").content
        running = client.post("/api/jobs", json={"spec": slow_spec(dataset["id"])}).json()
        _wait(client, running["id"], ("running",))
        deadline = time.monotonic() + 60  # until the worker is inside the pipeline
        while client.get(f"/api/jobs/{running['id']}").json()["stage"] in ("", "starting"):
            assert time.monotonic() < deadline, "the worker never started the run"
            time.sleep(0.2)
        waiting = client.post(
            "/api/jobs", json={"spec": fast_spec(dataset["id"], evaluation=False)}
        ).json()
        time.sleep(0.5)
        assert client.get(f"/api/jobs/{waiting['id']}").json()["state"] == "queued"
        with sqlite3.connect(data_dir / "healthforge.db") as db:
            (pid,) = db.execute("SELECT pid FROM jobs WHERE id = ?", (running["id"],)).fetchone()
        assert _alive(pid)
        server.kill9()

    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), "the worker outlived its killed server"

    with live_server(data_dir, *args) as server:
        client = httpx.Client(base_url=server.url, headers=headers, timeout=30)
        kept = client.get(f"/api/jobs/{finished['id']}").json()
        assert kept["state"] == "done" and kept["result"]["evaluation"]["fidelity"] > 0
        assert client.get(f"/api/jobs/{finished['id']}/files/synthetic").content == synthetic
        interrupted = client.get(f"/api/jobs/{running['id']}").json()
        assert interrupted["state"] == "failed" and "interrupted" in interrupted["error"]
        resumed = _wait(client, waiting["id"], ("done", "failed"))
        assert resumed["state"] == "done", resumed["error"]
        assert client.get(f"/api/datasets/{dataset['id']}").status_code == 200
