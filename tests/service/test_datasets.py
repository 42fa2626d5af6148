"""``/api/datasets``: upload with profile and identifier findings, the limits on
malformed uploads (nothing stored), schema editing, and another user's 404s."""

from __future__ import annotations

import io
import os

import numpy as np
import pandas as pd
import pytest

from healthforge.service.config import MB
from tests.service.helpers import Api, fast_spec


def stored_files(api: Api) -> list[str]:
    root = api.config.data_dir
    found = []
    for folder in ("datasets", "tmp"):
        base = root / folder
        if base.exists():
            found += [str(p.relative_to(root)) for p in base.rglob("*") if p.is_file()]
    return found


def dataset_count(api: Api) -> int:
    row = api.config.db_path and api.client.app.state.service.db.one(
        "SELECT COUNT(*) AS n FROM datasets"
    )
    return int(row["n"])


def test_upload_profiles_and_reports_identifiers(api: Api) -> None:
    dataset = api.upload()
    profile = dataset["profile"]
    assert dataset["rows"] == 120 and dataset["columns"] == 15
    flagged = {f["column"] for f in profile["phi"]}
    assert {"patient_id", "name", "email", "ssn", "phone"} <= flagged
    assert all(f["reason"] for f in profile["phi"])
    by_name = {c["name"]: c for c in profile["schema"]}
    assert by_name["age"]["kind"] == "integer" and by_name["name"]["domain"] == ""
    # stored under a generated name in the data folder, never the user's file name
    files = stored_files(api)
    assert f"datasets/{dataset['id']}/table.csv" in files
    assert not any("messy" in f for f in files)
    listed = api.client.get("/api/datasets", headers=api.alice).json()
    assert [d["id"] for d in listed] == [dataset["id"]]
    got = api.client.get(f"/api/datasets/{dataset['id']}", headers=api.alice)
    assert got.status_code == 200 and got.json()["profile"] == profile


def test_upload_formats(api: Api) -> None:
    frame = pd.DataFrame({"age": [30, 40, 50, 60] * 5, "sex": ["f", "m"] * 10})
    buffers = {"t.tsv": frame.to_csv(sep="\t", index=False).encode()}
    parquet, excel = io.BytesIO(), io.BytesIO()
    frame.to_parquet(parquet)
    frame.to_excel(excel, index=False)
    buffers["t.parquet"], buffers["t.xlsx"] = parquet.getvalue(), excel.getvalue()
    for name, body in buffers.items():
        r = api.client.post("/api/datasets", headers=api.alice, files={"file": (name, body)})
        assert r.status_code == 201, (name, r.text)
        assert r.json()["rows"] == 20 and r.json()["columns"] == 2


def test_another_user_sees_nothing(api: Api) -> None:
    dataset = api.upload()
    path = f"/api/datasets/{dataset['id']}"
    assert api.client.get("/api/datasets", headers=api.bob).json() == []
    for method, url in (
        ("GET", path),
        ("GET", path + "/schema"),
        ("DELETE", path),
    ):
        r = api.client.request(method, url, headers=api.bob)
        assert r.status_code == 404, (method, url, r.status_code)
        assert "not found" in r.json()["detail"]
    schema = api.client.get(path + "/schema", headers=api.alice).json()["schema"]
    assert api.client.put(path + "/schema", headers=api.bob, json=schema).status_code == 404
    r = api.client.get(f"/api/leaderboard?dataset_id={dataset['id']}", headers=api.bob)
    assert r.status_code == 404
    # bob cannot run a job on alice's data either
    r = api.client.post("/api/jobs", headers=api.bob, json={"spec": fast_spec(dataset["id"])})
    assert r.status_code == 404
    assert api.client.get(path, headers=api.alice).status_code == 200  # still there


def test_sign_in_required(api: Api) -> None:
    assert api.client.get("/api/datasets").status_code == 401
    bad = {"Authorization": "Bearer hf_not-a-real-token"}
    r = api.client.get("/api/datasets", headers=bad)
    assert r.status_code == 401 and "token" in r.json()["detail"]
    stored = api.client.app.state.service.db.all("SELECT token_hash FROM users")
    token = api.alice["Authorization"].split()[1]
    assert all(token not in row["token_hash"] for row in stored)  # only hashes are kept


def _wide_csv(columns: int) -> bytes:
    header = ",".join(f"c{i}" for i in range(columns))
    row = ",".join("1" for _ in range(columns))
    return f"{header}\n{row}\n{row}\n".encode()


MALFORMED = {
    "empty": ("t.csv", b"", 400, "empty"),
    "binary": ("t.csv", bytes(range(256)) * 64, 400, "binary"),
    "not utf-8": ("t.csv", "age,name\n1,Zo\xe9\n".encode("latin-1"), 400, "UTF-8"),
    "header only": ("t.csv", b"age,sex\n", 400, "no rows"),
    "10,000 columns": ("t.csv", _wide_csv(10_000), 413, "10,000 columns"),
    "unknown type": ("t.exe", b"MZ\x90\x00", 415, "unknown file type"),
    "no file name": ("", b"a,b\n1,2\n", 422, "UploadFile"),  # not a file part at all
    "fake parquet": ("t.parquet", b"a,b\n1,2\n", 400, "not a Parquet"),
    "fake excel": ("t.xlsx", b"a,b\n1,2\n", 400, "not an Excel"),
    "duplicate columns": ("t.csv", b"a,a\n1,2\n", 400, "duplicate column"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_upload_is_refused_and_nothing_stored(api: Api, case: str) -> None:
    name, body, status, words = MALFORMED[case]
    r = api.client.post("/api/datasets", headers=api.alice, files={"file": (name, body)})
    assert r.status_code == status, r.text
    assert words in str(r.json()["detail"])
    assert stored_files(api) == [] and dataset_count(api) == 0


def test_too_many_rows(api: Api) -> None:
    frame = pd.DataFrame({"x": np.arange(api.config.max_rows + 1)})
    body = frame.to_csv(index=False).encode()
    r = api.client.post("/api/datasets", headers=api.alice, files={"file": ("t.csv", body)})
    assert r.status_code == 413 and "rows" in r.json()["detail"]
    assert stored_files(api) == []


def test_200_mb_upload_is_refused(api: Api) -> None:
    body = os.urandom(1024) * (200 * 1024)  # 200 MB
    assert len(body) == 200 * MB
    r = api.client.post("/api/datasets", headers=api.alice, files={"file": ("big.csv", body)})
    assert r.status_code == 413 and "larger than" in r.json()["detail"]
    assert stored_files(api) == [] and dataset_count(api) == 0


def test_file_name_cannot_choose_the_path(api: Api) -> None:
    dataset = api.upload(name="../../../etc/evil.csv")
    assert dataset["name"] == "evil.csv"
    assert stored_files(api) == [f"datasets/{dataset['id']}/table.csv", *stored_files(api)[1:]]
    assert not (api.config.data_dir.parent / "etc").exists()


def test_schema_edit_round_trip(api: Api) -> None:
    dataset = api.upload()
    path = f"/api/datasets/{dataset['id']}/schema"
    got = api.client.get(path, headers=api.alice).json()
    assert got["saved"] is False
    schema = got["schema"]
    for column in schema["columns"]:
        if column["name"] == "region":  # the steward decides region identifies people
            column["role"] = "identifier"
    r = api.client.put(path, headers=api.alice, json=schema)
    assert r.status_code == 200, r.text
    again = api.client.get(path, headers=api.alice).json()
    assert again["saved"] is True
    assert {c["name"]: c["role"] for c in again["schema"]["columns"]}["region"] == "identifier"
    profile = api.client.get(f"/api/datasets/{dataset['id']}", headers=api.alice).json()
    assert "region" in {f["column"] for f in profile["profile"]["phi"]}
    roles = {c["name"]: c["role"] for c in profile["profile"]["schema"]}
    assert roles["region"] == "identifier"
    # a schema that contradicts the data is refused, and the saved one is kept
    schema["columns"][0]["name"] = "no_such_column"
    r = api.client.put(path, headers=api.alice, json=schema)
    assert r.status_code == 400
    assert api.client.get(path, headers=api.alice).json() == again


def test_delete_dataset_removes_its_file(api: Api) -> None:
    dataset = api.upload()
    r = api.client.delete(f"/api/datasets/{dataset['id']}", headers=api.alice)
    assert r.status_code == 204
    assert stored_files(api) == [] and dataset_count(api) == 0
    assert api.client.get(f"/api/datasets/{dataset['id']}", headers=api.alice).status_code == 404
