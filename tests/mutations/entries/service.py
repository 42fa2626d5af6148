"""The service (issue #23): a user never sees another's data; no request names a path.

Registered only where the service extra is installed (its tests need FastAPI)."""

from __future__ import annotations

import importlib.util

import pytest

from tests.mutations.catalogue import mutation

ISOLATION = [
    "tests/service/test_datasets.py::test_another_user_sees_nothing",
    "tests/service/test_jobs.py::test_another_user_cannot_touch_a_job",
    "tests/service/test_partner.py::test_another_user_cannot_see_a_conversation",
]

if importlib.util.find_spec("fastapi") is not None:

    @mutation(
        "service-no-owner-check",
        "GET/DELETE of a dataset, job or conversation by id ignores who owns it",
        tests=ISOLATION,
    )
    def _(patch: pytest.MonkeyPatch) -> None:
        from healthforge.service.db import Database

        patch.setattr(
            Database,
            "owned",
            lambda self, table, item_id, owner: self.one(
                f"SELECT * FROM {table} WHERE id = ?", item_id
            ),
        )

    @mutation(
        "service-lists-everyone",
        "listing datasets, jobs and conversations shows every user's",
        tests=ISOLATION,
    )
    def _(patch: pytest.MonkeyPatch) -> None:
        from healthforge.service.db import Database

        patch.setattr(
            Database,
            "owned_list",
            lambda self, table, owner, **where: self.all(f"SELECT * FROM {table}"),
        )

    @mutation(
        "service-partner-reads-paths",
        "a conversation's partner may load another file (load_data, schema files)",
        tests=["tests/service/test_partner.py::test_a_conversation_cannot_load_another_file"],
    )
    def _(patch: pytest.MonkeyPatch) -> None:
        from healthforge.service import conversations

        patch.setattr(conversations, "guard", lambda tool, args, schema_path: args)

    @mutation(
        "service-plaintext-tokens",
        "tokens are stored as they are instead of their sha256",
        tests=["tests/service/test_datasets.py::test_sign_in_required"],
    )
    def _(patch: pytest.MonkeyPatch) -> None:
        from healthforge.service import auth

        patch.setattr(auth, "hash_token", lambda token: token)

    @mutation(
        "service-unsigned-tickets",
        "a download link opens any file of the job whatever its signature",
        tests=["tests/service/test_jobs.py::test_ticket_opens_one_file_for_a_minute"],
    )
    def _(patch: pytest.MonkeyPatch) -> None:
        # jobs and conversations read tickets through routes/files.py
        from healthforge.service.routes import files

        patch.setattr(files, "ticket_user", lambda secret, ticket, job, name: ticket.split(".")[0])
