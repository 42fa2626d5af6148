"""Jobs of kind compare, scenario, augment and benchmark: run by the library code the CLI
uses, in worker processes, with their files; bounded; owned by their user."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

from tests.service.helpers import Api, fast_spec

BENCHMARK_MAX = {"generators": 4, "repeats": 3, "rows": 5000, "timeout": 600}


def start(api: Api, kind: str, spec: dict[str, Any], who: str = "alice") -> dict:
    body = {"kind": kind, "spec": spec}
    r = api.client.post("/api/jobs", headers=api.headers(who), json=body)
    assert r.status_code == 202, r.text
    return r.json()


def refused(api: Api, kind: str, spec: Any, who: str = "alice") -> Any:
    r = api.client.post("/api/jobs", headers=api.headers(who), json={"kind": kind, "spec": spec})
    assert r.status_code in (400, 404, 409, 422), (kind, spec, r.status_code, r.text)
    return r


def test_compare_ranks_two_runs_and_is_owned(api: Api) -> None:
    dataset = api.upload()
    runs = [
        api.start(fast_spec(dataset["id"], evaluation=False, generator={"name": name}))
        for name in ("independent", "cart")
    ]
    for run in runs:
        assert api.wait(run["id"])["state"] == "done"
    ids = [r["id"] for r in runs]
    job = api.wait(start(api, "compare", {"jobs": ids})["id"])
    assert job["state"] == "done", job["error"]
    assert job["kind"] == "compare" and job["dataset_id"] == dataset["id"]
    board = job["result"]["leaderboard"]
    assert sorted(row["job_id"] for row in board) == sorted(ids)
    assert board[0]["mean_rank"] <= board[1]["mean_rank"]
    assert set(job["result"]["files"]) == {"report", "report_json", "spec"}
    base = f"/api/jobs/{job['id']}/files"
    saved = api.client.get(f"{base}/report_json", headers=api.alice).json()
    assert len(saved["leaderboard"]) == 2  # the library's comparison JSON
    assert api.client.get(f"{base}/report", headers=api.alice).status_code == 200
    # bob sees none of it, and cannot compare alice's runs
    assert api.client.get(f"/api/jobs/{job['id']}", headers=api.bob).status_code == 404
    assert api.client.get(f"{base}/report", headers=api.bob).status_code == 404
    assert refused(api, "compare", {"jobs": ids}, who="bob").status_code == 404


def test_compare_refuses_runs_on_different_splits(api: Api) -> None:
    dataset = api.upload()
    a = api.start(fast_spec(dataset["id"], evaluation=False))
    b = api.start(fast_spec(dataset["id"], evaluation=False, seed=7))
    api.wait(a["id"])
    api.wait(b["id"])
    r = refused(api, "compare", {"jobs": [a["id"], b["id"]]})
    assert "seed" in r.json()["detail"]
    assert refused(api, "compare", {"jobs": [a["id"]]}).status_code == 400  # one run
    assert refused(api, "compare", {"jobs": [a["id"], "0" * 32]}).status_code == 404


def test_augment_job(api: Api) -> None:
    dataset = api.upload(_balanced(240))
    spec = {
        "dataset": f"dataset:{dataset['id']}",
        "balance": "sex",
        "target": "diabetes",
        "generator": "independent",
        "repeats": 2,
    }
    job = api.wait(start(api, "augment", spec)["id"], timeout=180)
    assert job["state"] == "done", job["error"]
    result = job["result"]
    assert set(result["files"]) == {"synthetic", "report", "report_json", "spec"}
    assert sum(result["added"].values()) > 0 and result["conclusion"]
    rows = api.client.get(f"/api/jobs/{job['id']}/files/synthetic", headers=api.alice).text
    frame = pd.read_csv(pd.io.common.StringIO(rows))
    assert len(frame) == result["rows"] and "ssn" not in frame.columns
    summary = api.client.get(f"/api/jobs/{job['id']}/files/report_json", headers=api.alice)
    assert summary.json()["settings"]["repeats"] == 2
    assert refused(api, "augment", spec, who="bob").status_code == 404  # alice's dataset
    assert refused(api, "augment", {**spec, "repeats": 1000}).status_code == 400
    assert refused(api, "augment", {**spec, "out": "/tmp/x.csv"}).status_code == 400


def test_scenario_job_runs_a_shipped_scenario_only(api: Api) -> None:
    job = start(api, "scenario", {"name": "diabetes", "rows": 60, "generator": "independent"})
    done = api.wait(job["id"], timeout=180)
    assert done["state"] == "done", done["error"]
    assert done["dataset_id"] == "" and done["result"]["conditions"]
    assert 0 <= done["result"]["evaluation"]["fidelity"] <= 1
    assert {"synthetic", "report", "report_json"} <= set(done["result"]["files"])
    assert api.client.get(f"/api/jobs/{job['id']}", headers=api.bob).status_code == 404
    for name in ("/etc/passwd", "../../x.yaml", "src/healthforge/scenarios/presets/icu.yaml"):
        refused(api, "scenario", {"name": name})
    refused(api, "scenario", {"name": "diabetes", "rows": api.config.max_rows + 1})


def test_benchmark_job_is_bounded(api: Api) -> None:
    dataset = api.upload()
    source = f"dataset:{dataset['id']}"
    for key, limit in BENCHMARK_MAX.items():
        spec: dict[str, Any] = {"dataset": source, "generators": ["independent"]}
        spec[key] = ["independent", "cart", "mixed", "gaussian_copula", "ctgan"]
        if key != "generators":
            spec[key] = limit + 1
        r = refused(api, "benchmark", spec)
        assert r.status_code == 400 and key in r.json()["detail"], r.text
    refused(api, "benchmark", {"dataset": source, "generators": ["independent"], "peers": ["sdv"]})
    spec = {"dataset": source, "generators": ["independent"], "target": "diabetes", "rows": 100}
    refused(api, "benchmark", spec, who="bob")
    job = api.wait(start(api, "benchmark", spec)["id"], timeout=240)
    assert job["state"] == "done", job["error"]
    assert job["result"]["rows_real"] == 100
    assert [m["method"] for m in job["result"]["methods"]] == ["independent"]
    assert job["result"]["methods"][0]["status"] == "ok"
    saved = api.client.get(f"/api/jobs/{job['id']}/files/report_json", headers=api.alice)
    assert json.loads(saved.text)["settings"]["generators"] == ["independent"]


def test_cancel_stops_a_benchmark_and_its_children(api: Api) -> None:
    dataset = api.upload()
    spec = {"dataset": f"dataset:{dataset['id']}", "generators": ["ctgan"], "repeats": 3}
    job = start(api, "benchmark", spec)
    db = api.client.app.state.service.db
    deadline = time.monotonic() + 90
    while True:  # until the worker has started the child that fits the generator
        pid = db.one("SELECT pid FROM jobs WHERE id = ?", job["id"])["pid"]
        if pid and any("benchmark.worker" in cmd for cmd in _group(pid).values()):
            break
        assert time.monotonic() < deadline, "the benchmark's child never started"
        time.sleep(0.2)
    r = api.client.post(f"/api/jobs/{job['id']}/cancel", headers=api.alice)
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    deadline = time.monotonic() + 10
    while _group(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _group(pid) == {}, "the benchmark's child outlived its cancelled job"
    assert api.wait(job["id"])["state"] == "cancelled"


def _group(pgid: int) -> dict[int, str]:
    """The live processes of one process group: pid -> command line."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            found[int(entry)] = cmd
    return found


def test_unknown_kind(api: Api) -> None:
    assert refused(api, "shell", {}).status_code == 422


def _balanced(n: int) -> pd.DataFrame:
    from tests.fixtures_data import make_messy

    frame = make_messy(n)
    frame["sex"] = ["F" if i % 4 == 0 else "M" for i in range(n)]  # one small group
    return frame
