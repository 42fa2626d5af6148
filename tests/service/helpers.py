"""Helpers of the service's tests: an app with two users signed in, and quick/slow specs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from healthforge.service.app import create_app
from healthforge.service.auth import create_user
from healthforge.service.config import MB, ServiceConfig
from tests.fixtures_data import make_messy

FINAL = ("done", "failed", "cancelled")


@dataclass
class Api:
    """A test client signed in as alice (``a``) or bob (``b``)."""

    client: TestClient
    config: ServiceConfig
    alice: dict[str, str]
    bob: dict[str, str]

    def upload(self, frame: Any = None, name: str = "messy.csv", who: str = "alice") -> dict:
        frame = make_messy(120) if frame is None else frame
        body = frame.to_csv(index=False).encode()
        r = self.client.post(
            "/api/datasets", headers=self.headers(who), files={"file": (name, body, "text/csv")}
        )
        assert r.status_code == 201, r.text
        return r.json()

    def headers(self, who: str) -> dict[str, str]:
        return self.alice if who == "alice" else self.bob

    def start(self, spec: dict, who: str = "alice") -> dict:
        r = self.client.post("/api/jobs", headers=self.headers(who), json={"spec": spec})
        assert r.status_code == 202, r.text
        return r.json()

    def wait(self, job_id: str, who: str = "alice", states: tuple = FINAL, timeout: float = 120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.client.get(f"/api/jobs/{job_id}", headers=self.headers(who)).json()
            if job["state"] in states:
                return job
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} did not reach {states}: {job}")


def fast_spec(dataset_id: str, evaluation: bool = True, **more: Any) -> dict:
    """A quick run: the independent generator, a small evaluation."""
    spec: dict[str, Any] = {
        "data": {"source": f"dataset:{dataset_id}", "target": "diabetes"},
        "generator": {"name": "independent"},
        **more,
    }
    if evaluation:
        spec["evaluation"] = {"n_estimators": 10}
    return spec


def slow_spec(dataset_id: str) -> dict:
    """A run that takes minutes (CTGAN, many epochs): to cancel, crash or interrupt."""
    return {
        "data": {"source": f"dataset:{dataset_id}"},
        "generator": {"name": "ctgan", "params": {"epochs": 100000}},
    }


def make_config(path: Path, **limits: Any) -> ServiceConfig:
    settings: dict[str, Any] = {
        "max_upload_bytes": 2 * MB,
        "max_columns": 200,
        "max_rows": 20_000,
        "spare_workers": False,  # one test turns it on; the live servers have it on
    }
    settings.update(limits)
    return ServiceConfig(data_dir=path / "service", **settings)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    config = make_config(tmp_path, max_jobs=2, max_jobs_per_user=1)
    app = create_app(config)
    db = app.state.service.db
    alice = {"Authorization": f"Bearer {create_user(db, 'alice')}"}
    bob = {"Authorization": f"Bearer {create_user(db, 'bob')}"}
    with TestClient(app) as client:
        yield Api(client, config, alice, bob)
