"""pytest plugin: applies the mutation named by ``HF_MUTATION`` for the whole session.

Loaded only by ``run.py`` (``-p tests.mutations.plugin``); an ordinary test run never
imports it, so nothing here can weaken the normal suite.
"""

from __future__ import annotations

import os

import pytest

_patch = pytest.MonkeyPatch()


def pytest_configure(config: pytest.Config) -> None:
    name = os.environ.get("HF_MUTATION")
    if not name:
        raise pytest.UsageError("tests.mutations.plugin needs HF_MUTATION=<name>")
    from tests.mutations.catalogue import MUTATIONS

    if name not in MUTATIONS:
        raise pytest.UsageError(f"unknown mutation {name!r}; known: {', '.join(MUTATIONS)}")
    MUTATIONS[name].apply(_patch)


def pytest_unconfigure(config: pytest.Config) -> None:
    _patch.undo()
