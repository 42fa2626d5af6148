"""What the selection policy learnt for one user, persisted as one JSON file.

``~/.healthforge/selection/<user>.json`` by default (``HEALTHFORGE_SELECTION_DIR``
moves the folder; a path can be given directly). It holds the prior's provenance (which
results folder, how many runs) and every observed run: the table's meta-features (never a
row), the generator, its epsilon, the reward and whether the run used the user's data.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from healthforge.errors import HealthForgeError
from healthforge.selection.meta import MetaFeatures
from healthforge.selection.reward import Reward

STORE_VERSION = 1
STORE_ENV = "HEALTHFORGE_SELECTION_DIR"


@dataclass
class Observation:
    """One evaluated run of a user's: the context, the arm and what it earned."""

    meta: MetaFeatures
    generator: str
    reward: Reward
    epsilon: float | None = None
    privacy: str = "none"
    time: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "meta": self.meta.to_dict(),
            "generator": self.generator,
            "epsilon": self.epsilon,
            "reward": self.reward.to_dict(),
            "privacy": self.privacy,
            "time": self.time,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Observation:
        return cls(
            meta=MetaFeatures.from_dict(data["meta"]),
            generator=str(data["generator"]),
            reward=Reward.from_dict(data.get("reward") or {}),
            epsilon=data.get("epsilon"),
            privacy=str(data.get("privacy", "none")),
            time=float(data.get("time", 0.0)),
        )


def default_store_path(user: str | None = None) -> Path:
    """The JSON file of ``user`` (default: the login name)."""
    user = user or getpass.getuser()
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", user) or "user"
    folder = Path(os.environ.get(STORE_ENV) or Path.home() / ".healthforge" / "selection")
    return folder / f"{safe}.json"


@dataclass
class SelectionStore:
    """A user's observations (and the prior's provenance); ``save()`` writes it atomically."""

    path: Path | None = None
    observations: list[Observation] = field(default_factory=list)
    prior: dict[str, Any] = field(default_factory=dict)  # results folder, runs, datasets

    saved: int = 0  # how many of ``observations`` came from (or went to) the file

    @classmethod
    def open(cls, path: str | Path | None = None, user: str | None = None) -> SelectionStore:
        """The store at ``path`` (default: the user's file); empty when it does not exist."""
        target = Path(path) if path is not None else default_store_path(user)
        observations, prior = _read(target)
        return cls(target, observations, prior, len(observations))

    def add(self, observation: Observation) -> None:
        self.observations.append(observation)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STORE_VERSION,
            "prior": self.prior,
            "observations": [o.to_dict() for o in self.observations],
        }

    def save(self) -> Path:
        """Write the file, merging: observations another process saved since this store
        was read are kept, and this store's new ones are added after them (a lock file
        serialises writers)."""
        if self.path is None:
            raise HealthForgeError("this selection store has no file to save to")
        from healthforge.data.io import atomic_write_text

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(self.path):
            on_disk, _ = _read(self.path)
            self.observations = on_disk + self.observations[self.saved :]
            atomic_write_text(self.path, json.dumps(self.to_dict(), indent=2) + "\n")
            self.saved = len(self.observations)
        return self.path


def _read(path: Path) -> tuple[list[Observation], dict[str, Any]]:
    if not path.exists():
        return [], {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != STORE_VERSION:
            raise ValueError(f"version {data.get('version')}")
        observations = [Observation.from_dict(o) for o in data.get("observations", [])]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise HealthForgeError(
            f"cannot read the selection store {path}: {exc}",
            "move the file away to start afresh (the benchmark prior is rebuilt)",
        ) from None
    return observations, dict(data.get("prior") or {})


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path``'s lock file (POSIX; elsewhere no lock)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(path.with_name(path.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def now() -> float:
    return time.time()
