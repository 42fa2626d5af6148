"""One conversation's partner in its own process: ``python -m
healthforge.service.partner_worker DATA_DIR CONVERSATION PARENT [LLM_URL LLM_MODEL]``.

The server (:class:`~.conversations.Conversations`) starts it on the conversation's first
request and keeps it while the conversation is in use. It reads one call a line on stdin
(``{"call": "send"|"approve"|"reject", "args": [...]}``) and answers on its protocol
channel with one JSON line per partner event (``{"event": ...}``), then ``{"done": true,
"pending": [...]}``. The partner's steps - fitting, generating, evaluating - therefore
run here, not in the server: a step that crashes, or runs out of memory, ends this
process and fails that step; the server and every other user carry on. It dies with the
server (``PR_SET_PDEATHSIG``). Anything the library prints goes to the conversation's
``partner.log``, never into the protocol.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import IO, Any

from healthforge.errors import HealthForgeError
from healthforge.service.config import ServiceConfig
from healthforge.service.conversations import _partner_class, language_model
from healthforge.service.db import Database
from healthforge.service.worker import die_with_parent

CALLS = ("send", "approve", "reject")


def make_partner(
    config: ServiceConfig, db: Database, conversation_id: str, emit: Any, llm: list[str]
) -> Any:
    """The conversation's :class:`ServicePartner` over its dataset's rows (handed in: the
    partner never sees a path). Rows never reach a language model in the service."""
    from healthforge.data import load_table

    conversation = db.one("SELECT * FROM conversations WHERE id = ?", conversation_id)
    if conversation is None:
        raise HealthForgeError("the conversation was deleted")
    dataset = db.one("SELECT * FROM datasets WHERE id = ?", conversation["dataset_id"])
    if dataset is None:
        raise HealthForgeError("the conversation's dataset was deleted")
    folder = config.folder("datasets", dataset["id"])
    frame = load_table(folder / dataset["stored"])
    session = config.folder("conversations", conversation_id)
    backend = language_model(*llm) if llm else None
    partner = _partner_class()(
        frame,
        session,
        backend=backend,
        allow_rows_to_model=False,
        seed=0,
        progress=lambda event: emit(event.to_dict()),
    )
    partner.schema_path = (folder / "schema.json") if dataset["schema_saved"] else None
    # each user's own generator-selection record: one user's evaluations never steer
    # (or show in) another user's recommendations
    store = config.folder("selection", conversation["owner"]) / "store.json"
    partner.state.ctx.results["selection_store"] = str(store)
    return partner


def serve(config: ServiceConfig, conversation_id: str, llm: list[str], out: IO[str]) -> None:
    """Answer calls from stdin until the server closes it."""

    def send(message: dict[str, Any]) -> None:
        out.write(json.dumps(message, default=str) + "\n")
        out.flush()

    def emit(event: dict[str, Any]) -> None:
        send({"event": event})

    partner = make_partner(config, Database(config.db_path), conversation_id, emit, llm)
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("call") not in CALLS:
            raise SystemExit(f"unknown call {request.get('call')!r}")
        try:
            events = getattr(partner, request["call"])(*request.get("args", []))
        except HealthForgeError as exc:
            events = [partner._error(exc, "")]
        for event in events:
            emit(event.to_dict())
        send({"done": True, "pending": [a.to_dict() for a in partner.pending]})


def main(argv: list[str]) -> None:
    data_dir, conversation_id, parent, *llm = argv
    die_with_parent(int(parent))
    os.nice(5)  # the server answers requests first
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w")  # the protocol's own channel
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # prints go to the log
    serve(ServiceConfig(data_dir=Path(data_dir)), conversation_id, llm, out)


if __name__ == "__main__":
    main(sys.argv[1:])
