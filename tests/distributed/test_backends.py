"""Choosing a backend: clear refusals, and a clear message when the ray extra is missing."""

from __future__ import annotations

import sys

import pytest

from healthforge.distributed import LocalExecutor, get_executor
from healthforge.errors import HealthForgeError


def test_local_is_the_default_and_refuses_an_address() -> None:
    assert isinstance(get_executor(), LocalExecutor)
    with pytest.raises(HealthForgeError, match="needs --backend ray"):
        get_executor("local", address="ray://head:10001")
    with pytest.raises(HealthForgeError, match="unknown backend 'spark'"):
        get_executor("spark")


def test_ray_backend_without_the_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(HealthForgeError, match="needs the ray extra") as caught:
        get_executor("ray")
    assert "pip install 'healthforge[ray]'" in (caught.value.hint or "")


def test_local_executor_records_failures_unless_failing_fast() -> None:
    def task(_shared: object, item: int) -> int:
        if item == 2:
            raise ValueError("bad item")
        return item * 10

    outcomes = LocalExecutor().map(task, None, [(str(i), i) for i in range(4)])
    assert [o.status for o in outcomes] == ["ok", "ok", "failed", "ok"]
    assert outcomes[2].error == "ValueError: bad item" and outcomes[3].value == 30
    with pytest.raises(ValueError):
        LocalExecutor().map(task, None, [(str(i), i) for i in range(4)], fail_fast=True)
