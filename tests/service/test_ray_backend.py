"""``healthforge serve --backend ray``: each job's worker builds the executor the CLI's
``--backend`` builds and hands it to the library call, so a benchmark's cells run as Ray
tasks (an embedded runtime with 2 CPUs here) with the same figures as the local backend."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from healthforge.errors import HealthForgeError
from healthforge.service.app import create_app
from healthforge.service.auth import create_user
from healthforge.service.db import Database
from healthforge.service.jobs import Scheduler
from healthforge.service.worker import worker_config
from tests.service.helpers import Api, make_config

HAS_RAY = importlib.util.find_spec("ray") is not None
needs_ray = pytest.mark.skipif(not HAS_RAY, reason="the ray extra is not installed")


@needs_ray
def test_the_backend_setting_reaches_each_worker(tmp_path: Path) -> None:
    config = make_config(tmp_path, backend="ray", ray_address="auto", ray_workers=2)
    config.data_dir.mkdir(parents=True)
    env = Scheduler(config, Database(config.db_path))._env()
    got = worker_config(str(config.data_dir), env)
    assert (got.backend, got.ray_address, got.ray_workers) == ("ray", "auto", 2)
    assert worker_config(str(config.data_dir), {}).backend == "local"  # the default


def test_ray_without_its_extra_is_refused(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(HealthForgeError, match="ray extra"):
        make_config(tmp_path, backend="ray")
    with pytest.raises(HealthForgeError, match="need --backend ray"):
        make_config(tmp_path, ray_workers=2)


def _benchmark(tmp_path: Path, **backend: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """One benchmark job on a service with ``backend``: its result and its saved JSON."""
    from tests.fixtures_data import make_messy

    config = make_config(tmp_path, **backend)
    app = create_app(config)
    alice = {"Authorization": f"Bearer {create_user(app.state.service.db, 'alice')}"}
    with TestClient(app) as client:
        api = Api(client, config, alice, alice)
        dataset = api.upload(make_messy(150))
        spec = {
            "dataset": f"dataset:{dataset['id']}",
            "generators": ["independent", "cart"],
            "target": "diabetes",
            "repeats": 2,
            "seed": 3,
            "rows": 150,
        }
        r = client.post("/api/jobs", headers=alice, json={"kind": "benchmark", "spec": spec})
        assert r.status_code == 202, r.text
        job = api.wait(r.json()["id"], timeout=150)
        assert job["state"] == "done", job["error"]
        saved = client.get(f"/api/jobs/{job['id']}/files/report_json", headers=alice)
        return job["result"], json.loads(saved.text)


def _figures(report: dict[str, Any]) -> list[Any]:
    """The scores of every cell (not its timings and memory, which differ run to run)."""
    keys = ("method", "repeat", "split_seed", "status", "rows_sampled", "metrics")
    return sorted(([run[k] for k in keys] for run in report["runs"]), key=lambda r: (r[0], r[1]))


@needs_ray
def test_a_benchmark_job_runs_its_cells_on_ray_with_the_local_figures(tmp_path: Path) -> None:
    ray_result, ray_report = _benchmark(tmp_path / "ray", backend="ray", ray_workers=2)
    local_result, local_report = _benchmark(tmp_path / "local")
    assert ray_result["executor"] == {"backend": "ray", "tasks": 4}  # 2 generators x 2 splits
    assert local_result["executor"] == {"backend": "local", "tasks": 4}
    assert ray_result["methods"] == local_result["methods"]
    assert _figures(ray_report) == _figures(local_report)
    assert all(m["status"] == "ok" for m in ray_result["methods"])
