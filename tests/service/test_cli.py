"""``healthforge serve``: creating users, and refusing an open single-user mode."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from healthforge.cli.app import app

runner = CliRunner()


def test_create_user_prints_a_token_once_and_stores_its_hash(tmp_path: Path) -> None:
    data = tmp_path / "svc"
    result = runner.invoke(app, ["serve", "--data-dir", str(data), "--create-user", "dr.lee"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("hf_") and len(token) > 40
    with sqlite3.connect(data / "healthforge.db") as db:
        rows = db.execute("SELECT name, token_hash FROM users").fetchall()
    assert rows[0][0] == "dr.lee" and token not in rows[0][1] and len(rows[0][1]) == 64
    again = runner.invoke(app, ["serve", "--data-dir", str(data), "--create-user", "dr.lee"])
    assert again.exit_code == 2 and "already exists" in again.output
    bad = runner.invoke(app, ["serve", "--data-dir", str(data), "--create-user", "../x"])
    assert bad.exit_code == 2 and "not a valid user name" in bad.output


def test_no_auth_only_on_loopback(tmp_path: Path) -> None:
    args = ["serve", "--data-dir", str(tmp_path / "svc"), "--no-auth", "--host", "0.0.0.0"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "--no-auth" in result.output
    assert not (tmp_path / "svc").exists()  # refused before anything was made


def test_no_auth_mode_is_one_local_user(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from healthforge.service.app import create_app
    from healthforge.service.config import ServiceConfig

    app = create_app(ServiceConfig(data_dir=tmp_path / "svc", auth=False), start_workers=False)
    with TestClient(app) as client:
        me = client.get("/api/me").json()
        assert me == {"name": "local", "auth": False, "language_model": None}
        assert client.get("/api/datasets").status_code == 200


def test_serve_takes_the_partners_language_model(tmp_path: Path, monkeypatch: Any) -> None:
    import uvicorn

    from tests.partner.backends.fake_server import FakeLLM, content

    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append(app))
    monkeypatch.delenv("HEALTHFORGE_LLM_BASE_URL", raising=False)
    with FakeLLM(lambda body: content("hello")) as fake:
        args = ["serve", "--data-dir", str(tmp_path / "svc"), "--llm-url", fake.base_url]
        result = runner.invoke(app, [*args, "--llm-model", "clinic-7b"])
        assert result.exit_code == 0, result.output
        model = served[0].state.service.conversations.model
        assert model.name == f"clinic-7b at {fake.base_url.split('/')[2]}"
        plain = runner.invoke(app, ["serve", "--data-dir", str(tmp_path / "svc2")])
        assert plain.exit_code == 0 and served[1].state.service.conversations.model is None
