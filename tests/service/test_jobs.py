"""``/api/jobs``: a run from a specification in a worker process, progress by polling
and server-sent events, downloads, cancel, a crashing worker, limits, and isolation."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pandas as pd

from tests.service.helpers import Api, fast_spec, make_config, slow_spec


def test_job_runs_and_offers_its_files(api: Api) -> None:
    dataset = api.upload()
    job = api.start(fast_spec(dataset["id"]))
    assert job["state"] == "queued"
    done = api.wait(job["id"])
    assert done["state"] == "done", done["error"]
    result = done["result"]
    assert result["generator"] == "independent" and result["rows"] > 0
    assert set(result["files"]) == {"synthetic", "model", "report", "report_json", "spec"}
    assert 0 <= result["evaluation"]["fidelity"] <= 1
    assert result["provenance"]["spec_sha256"]
    # the stored spec names the dataset, not a server path
    assert done["spec"]["data"]["source"] == f"dataset:{dataset['id']}"
    base = f"/api/jobs/{job['id']}/files"
    synthetic = api.client.get(f"{base}/synthetic", headers=api.alice)
    assert synthetic.status_code == 200 and "attachment" in synthetic.headers["content-disposition"]
    frame = pd.read_csv(pd.io.common.StringIO(synthetic.text))
    assert len(frame) == result["rows"]
    assert not {"name", "email", "ssn", "patient_id"} & set(frame.columns)  # identifiers
    report = api.client.get(f"{base}/report", headers=api.alice)
    assert report.status_code == 200 and "sandbox" in report.headers["content-security-policy"]
    spec = api.client.get(f"{base}/spec", headers=api.alice).json()
    assert spec["data"]["source"] == f"dataset:{dataset['id']}"
    assert api.client.get(f"{base}/model", headers=api.alice).content[:2] == b"PK"
    assert api.client.get(f"{base}/../../secret.key", headers=api.alice).status_code == 404
    assert api.client.get(f"{base}/nonsense", headers=api.alice).status_code == 404
    board = api.client.get(f"/api/leaderboard?dataset_id={dataset['id']}", headers=api.alice)
    assert [row["job_id"] for row in board.json()] == [job["id"]]
    listed = api.client.get(f"/api/jobs?dataset_id={dataset['id']}", headers=api.alice).json()
    assert [j["id"] for j in listed] == [job["id"]]


def test_server_sent_events_follow_a_job(api: Api) -> None:
    dataset = api.upload()
    job = api.start(fast_spec(dataset["id"], evaluation=False))
    kinds, states = [], []
    with api.client.stream("GET", f"/api/jobs/{job['id']}/events", headers=api.alice) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
                kinds.append(kind)
            elif line.startswith("data: ") and kind == "progress":
                states.append(json.loads(line[6:])["state"])
    assert kinds[-1] == "end" and states[-1] == "done"
    assert kinds.count("progress") >= 2  # at least queued/running and done


def test_another_user_cannot_touch_a_job(api: Api) -> None:
    dataset = api.upload()
    job = api.start(fast_spec(dataset["id"], evaluation=False))
    api.wait(job["id"])
    base = f"/api/jobs/{job['id']}"
    assert api.client.get("/api/jobs", headers=api.bob).json() == []
    for method, url in (
        ("GET", base),
        ("GET", base + "/events"),
        ("GET", base + "/files/synthetic"),
        ("POST", base + "/tickets/synthetic"),
        ("POST", base + "/cancel"),
        ("DELETE", base),
    ):
        r = api.client.request(method, url, headers=api.bob)
        assert r.status_code == 404, (method, url, r.status_code)
    assert api.client.get(base, headers=api.alice).json()["state"] == "done"


def test_ticket_opens_one_file_for_a_minute(api: Api) -> None:
    dataset = api.upload()
    job = api.start(fast_spec(dataset["id"], evaluation=False))
    api.wait(job["id"])
    ticket = api.client.post(f"/api/jobs/{job['id']}/tickets/synthetic", headers=api.alice)
    url = ticket.json()["url"]
    assert api.client.get(url).status_code == 200  # no header needed
    assert api.client.get(url.replace("synthetic?", "model?")).status_code == 401
    assert api.client.get(url[:-3] + "abc").status_code == 401  # a changed signature


def test_specs_cannot_name_paths(api: Api) -> None:
    dataset = api.upload()
    good = fast_spec(dataset["id"])
    bad_specs = {
        "a path as source": {**good, "data": {"source": "/etc/passwd"}},
        "a bundled source": {**good, "data": {"source": "bundled:nhefs"}},
        "an output path": {**good, "outputs": {"synthetic": "/tmp/x.csv"}},
        "a schema path": {**good, "data": {**good["data"], "schema": "/tmp/s.yaml"}},
        "an unknown generator": {**good, "generator": {"name": "nope"}},
        "no schema saved": {**good, "data": {**good["data"], "schema": "dataset"}},
        "too many rows": {**good, "rows": 10**9},
    }
    for what, spec in bad_specs.items():
        r = api.client.post("/api/jobs", headers=api.alice, json={"spec": spec})
        assert r.status_code == 400, (what, r.text)
        assert r.json()["detail"], what
    assert api.client.get("/api/jobs", headers=api.alice).json() == []
    missing = {**good, "data": {"source": "dataset:" + "0" * 32}}
    assert (
        api.client.post("/api/jobs", headers=api.alice, json={"spec": missing}).status_code == 404
    )


def _running(api: Api, job_id: str) -> dict:
    job = api.wait(job_id, states=("running", "done", "failed", "cancelled"))
    assert job["state"] == "running"
    db = api.client.app.state.service.db
    deadline = time.monotonic() + 10
    while (pid := db.one("SELECT pid FROM jobs WHERE id = ?", job_id)["pid"]) is None:
        assert time.monotonic() < deadline, "the worker's pid was never recorded"
        time.sleep(0.05)
    return {**job, "pid": pid}


def _gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_cancel_stops_the_worker(api: Api) -> None:
    dataset = api.upload()
    job = _running(api, api.start(slow_spec(dataset["id"]))["id"])
    r = api.client.post(f"/api/jobs/{job['id']}/cancel", headers=api.alice)
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert _gone(job["pid"])
    time.sleep(0.5)
    assert api.wait(job["id"])["state"] == "cancelled"
    assert api.client.post(f"/api/jobs/{job['id']}/cancel", headers=api.alice).status_code == 409


def test_a_crashed_worker_fails_its_job_only(api: Api) -> None:
    dataset = api.upload()
    job = _running(api, api.start(slow_spec(dataset["id"]))["id"])
    os.kill(job["pid"], signal.SIGKILL)  # as the out-of-memory killer would
    failed = api.wait(job["id"])
    assert failed["state"] == "failed" and "stopped unexpectedly" in failed["error"]
    after = api.wait(api.start(fast_spec(dataset["id"], evaluation=False))["id"])
    assert after["state"] == "done"  # the server and its scheduler carry on


def test_concurrency_is_bounded_per_user(api: Api) -> None:
    dataset = api.upload()
    first = api.start(slow_spec(dataset["id"]))
    second = api.start(fast_spec(dataset["id"], evaluation=False))
    _running(api, first["id"])
    time.sleep(1.0)  # several scheduler passes
    assert api.client.get(f"/api/jobs/{second['id']}", headers=api.alice).json()["state"] == (
        "queued"
    )
    # another user's job is not held up by alice's
    other = api.upload(who="bob")
    assert (
        api.wait(api.start(fast_spec(other["id"], evaluation=False), who="bob")["id"], "bob")[
            "state"
        ]
        == "done"
    )
    api.client.post(f"/api/jobs/{first['id']}/cancel", headers=api.alice)
    assert api.wait(second["id"])["state"] == "done"


def test_delete_job(api: Api) -> None:
    dataset = api.upload()
    job = api.start(fast_spec(dataset["id"], evaluation=False))
    api.wait(job["id"])
    assert api.client.delete(f"/api/jobs/{job['id']}", headers=api.alice).status_code == 204
    assert not api.config.folder("jobs", job["id"]).exists()
    assert api.client.get(f"/api/jobs/{job['id']}", headers=api.alice).status_code == 404


def test_failed_run_says_why(api: Api) -> None:
    dataset = api.upload()
    spec = fast_spec(dataset["id"], conditions=["no_such_column == 1"])
    job = api.wait(api.start(spec)["id"])
    assert job["state"] == "failed" and "no_such_column" in job["error"]


def test_request_size_limit(api: Api) -> None:
    padding = "x" * (api.config.max_json_bytes + 1)
    spec = {"data": {"source": "dataset:" + "0" * 32}, "description": padding}
    r = api.client.post("/api/jobs", headers=api.alice, json={"spec": spec})
    assert r.status_code == 413 and "larger than" in r.json()["detail"]


def test_no_cors_and_safe_headers(api: Api) -> None:
    r = api.client.get(
        "/api/datasets", headers={**api.alice, "Origin": "https://elsewhere.example"}
    )
    assert "access-control-allow-origin" not in r.headers
    page = api.client.get("/")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert api.client.get("/static/../healthforge.db").status_code == 404
    assert api.client.get("/api/openapi.json").status_code == 200


def test_a_spare_worker_takes_the_next_job(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from healthforge.service.app import create_app
    from healthforge.service.auth import create_user

    app = create_app(make_config(tmp_path, spare_workers=True))
    scheduler = app.state.service.scheduler
    alice = {"Authorization": f"Bearer {create_user(app.state.service.db, 'alice')}"}
    with TestClient(app) as client:
        api = Api(client, app.state.service.config, alice, alice)
        dataset = api.upload()
        deadline = time.monotonic() + 30
        while scheduler.spare is None and time.monotonic() < deadline:
            time.sleep(0.1)
        spare = scheduler.spare.pid
        job = api.wait(api.start(fast_spec(dataset["id"], evaluation=False))["id"])
        assert job["state"] == "done", job["error"]
        row = app.state.service.db.one("SELECT pid FROM jobs WHERE id = ?", job["id"])
        assert row["pid"] == spare  # the spare ran it
        deadline = time.monotonic() + 30  # and another is started for the next job
        while (
            scheduler.spare is None or scheduler.spare.pid == spare
        ) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert scheduler.spare is not None and scheduler.spare.pid != spare
    assert scheduler.spare is None  # stopped with the server
