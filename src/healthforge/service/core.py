"""The running service: its settings, database, job scheduler and partner conversations."""

from __future__ import annotations

import os
import secrets
from typing import Any

from healthforge.service.config import ServiceConfig
from healthforge.service.db import Database
from healthforge.service.jobs import Scheduler


class Service:
    """Everything a request handler needs, made once per app."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(config.data_dir, 0o700)  # uploads are health data: owner only
        (config.data_dir / "tmp").mkdir(exist_ok=True)
        self.db = Database(config.db_path)
        self.scheduler = Scheduler(config, self.db)
        self.secret = _secret(config)
        self.conversations: Any = None  # set by the app when the partner is available

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.stop()
        if self.conversations is not None:
            self.conversations.stop()


def _secret(config: ServiceConfig) -> bytes:
    """The key that signs download tickets; made on first start, readable by the owner only."""
    path = config.data_dir / "secret.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    return path.read_bytes()
