"""The AI partner in the service: one conversation per user and dataset.

Each conversation is a :class:`healthforge.partner.Partner` over the dataset's rows (the
table is handed in: the partner never sees a path), with its session folder under the
data directory. The service lets the partner use only the tools on :data:`SERVICE_TOOLS`
and refuses, before anything runs, a proposal that would read a file by path (loading
another table, a schema file): in the service, a conversation's data is its dataset and
nothing else on the server. Events are stored, so the conversation survives a restart
(the partner itself starts afresh then, and says so). One request at a time runs per
conversation; at most ``max_jobs`` run at once on the server.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from healthforge.errors import HealthForgeError
from healthforge.service.config import ServiceConfig
from healthforge.service.db import Database, new_id, now
from healthforge.service.errors import ServiceError

# the partner's tools a service user may run: none reads a path; outputs stay in the
# conversation's folder (the tools refuse names outside it)
SERVICE_TOOLS = frozenset(
    {
        "profile_data",
        "screen_phi",
        "describe_column",
        "drop_columns",
        "plot_column",
        "recommend_generators",
        "set_privacy",
        "generate",
        "evaluate",
        "compare",
        "fairness",
        "write_report",
        "explain_report",
        "augment",
    }
)
SAVED_SCHEMA = "dataset"  # set_privacy's schema_file: the schema saved for the dataset
RESTARTED = (
    "I start this conversation again from your dataset (the service restarted, or set the "
    "conversation aside while it was idle); files written earlier are still listed above."
)
Emit = Callable[[dict[str, Any]], None]
MAX_LIVE = 32  # partners held in memory (each holds its dataset's rows)


def _partner_class() -> type:
    """:class:`Partner` with the service's guard in front of every proposal."""
    from healthforge.partner.engine import Partner
    from healthforge.partner.tools import ToolError

    class ServicePartner(Partner):  # type: ignore[misc, valid-type]
        schema_path: Path | None = None

        def _handle(self, proposal: Any) -> list[Any]:
            if proposal.tool is not None:
                try:
                    proposal.args = guard(proposal.tool, dict(proposal.args), self.schema_path)
                except ToolError as exc:
                    return [self._error(exc, "Tell me what you would like instead.")]
            return super()._handle(proposal)

        def approve(self, action_id: str, changes: dict[str, Any] | None = None) -> list[Any]:
            action = self._pending(action_id)
            try:
                guard(action.tool, {**action.args, **(changes or {})}, self.schema_path)
            except ToolError as exc:
                return [self._error(exc, "The proposal still waits.")]
            return super().approve(action_id, changes)

        def revise(self, action_id: str, changes: dict[str, Any]) -> list[Any]:
            action = self._pending(action_id)
            try:
                guard(action.tool, {**action.args, **changes}, self.schema_path)
            except ToolError as exc:
                return [self._error(exc, "The proposal still waits.")]
            return super().revise(action_id, changes)

    return ServicePartner


def guard(tool: str, args: dict[str, Any], schema_path: Path | None) -> dict[str, Any]:
    """The arguments a service user's proposal may run with, or a ToolError."""
    from healthforge.partner.tools import ToolError

    if tool == "load_data":
        raise ToolError(
            "in the service a conversation works on its dataset only",
            "to work on another table, upload it and open its conversation",
        )
    if tool not in SERVICE_TOOLS:
        raise ToolError(f"the step '{tool}' is not available in the web service")
    if tool == "set_privacy":
        chosen = args.get("schema_file")
        if chosen not in (None, SAVED_SCHEMA, str(schema_path) if schema_path else None):
            raise ToolError(
                "a schema file cannot be named in the web service",
                "review and save the dataset's schema on the Data page; strict privacy "
                "then uses it as the public bounds",
            )
        if schema_path is not None and (chosen is not None or args.get("preset") == "strict"):
            args["schema_file"] = str(schema_path)
        elif chosen == SAVED_SCHEMA:
            raise ToolError(
                "no schema has been saved for this dataset",
                "review and save the schema on the Data page first",
            )
    return args


class Conversations:
    """The live partners of one server, by conversation id."""

    def __init__(self, config: ServiceConfig, db: Database) -> None:
        self.config, self.db = config, db
        self.partners: dict[str, Any] = {}
        self.busy: set[str] = set()
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(config.max_jobs)

    def open(self, owner: str, dataset: dict[str, Any]) -> dict[str, Any]:
        """The conversation of ``owner`` about ``dataset`` (made on first use)."""
        found = self.db.one(
            "SELECT * FROM conversations WHERE owner = ? AND dataset_id = ?", owner, dataset["id"]
        )
        if found is not None:
            return found
        row = {"id": new_id(), "owner": owner, "dataset_id": dataset["id"], "created": now()}
        self.db.insert("conversations", row)
        return row

    def events(self, conversation_id: str) -> list[dict[str, Any]]:
        rows = self.db.all(
            "SELECT event FROM conversation_events WHERE conversation_id = ? ORDER BY seq",
            conversation_id,
        )
        return [r["event"] for r in rows]

    def files(self, conversation_id: str) -> set[str]:
        """The files the partner reported writing: the only ones the service will serve."""
        return {f for e in self.events(conversation_id) for f in e.get("files") or []}

    def pending(self, conversation_id: str) -> list[dict[str, Any]]:
        partner = self.partners.get(conversation_id)
        return [] if partner is None else [a.to_dict() for a in partner.pending]

    def _store(self, conversation_id: str, event: dict[str, Any]) -> None:
        row = self.db.one(
            "SELECT COALESCE(MAX(seq), 0) AS n FROM conversation_events WHERE conversation_id = ?",
            conversation_id,
        )
        seq = (row["n"] if row else 0) + 1
        self.db.insert(
            "conversation_events",
            {"conversation_id": conversation_id, "seq": seq, "event": event, "created": now()},
        )

    def _partner(self, conversation: dict[str, Any], emit: Emit) -> Any:
        partner = self.partners.get(conversation["id"])
        if partner is not None:
            partner.progress = lambda event: emit(event.to_dict())
            self._keep(conversation["id"], partner)
            return partner
        from healthforge.data import load_table

        dataset = self.db.one("SELECT * FROM datasets WHERE id = ?", conversation["dataset_id"])
        if dataset is None:
            raise ServiceError("the conversation's dataset was deleted", None, 404)
        folder = self.config.folder("datasets", dataset["id"])
        frame = load_table(folder / dataset["stored"])
        session = self.config.folder("conversations", conversation["id"])
        restarted = session.exists()
        partner = _partner_class()(
            frame, session, seed=0, progress=lambda event: emit(event.to_dict())
        )
        partner.schema_path = (folder / "schema.json") if dataset["schema_saved"] else None
        # each user's own generator-selection record: one user's evaluations never steer
        # (or show in) another user's recommendations
        store = self.config.folder("selection", conversation["owner"]) / "store.json"
        partner.state.ctx.results["selection_store"] = str(store)
        if restarted:
            emit({"kind": "notice", "text": RESTARTED, "action": None, "data": {}, "files": []})
        self._keep(conversation["id"], partner)
        return partner

    def run(
        self, conversation: dict[str, Any], call: str, emit: Emit, *args: Any, said: str = ""
    ) -> None:
        """Run ``partner.<call>(*args)`` (send, approve, reject), passing every event to
        ``emit`` as it happens and storing it; one call at a time per conversation.
        ``said``: the user's turn as the conversation shows it."""
        cid = conversation["id"]
        with self.lock:
            if cid in self.busy:
                raise ServiceError(
                    "the partner is still working on your last request",
                    "wait for it to finish",
                    409,
                )
            self.busy.add(cid)

        def both(event: dict[str, Any]) -> None:
            if event.get("kind") != "progress":
                self._store(cid, event)
            emit(event)

        try:
            if said:
                both({"kind": "user", "text": said, "action": None, "data": {}, "files": []})
            with self.slots:
                partner = self._partner(conversation, both)
                try:
                    events = getattr(partner, call)(*args)
                except HealthForgeError as exc:
                    events = [partner._error(exc, "")]
                for event in events:
                    both(event.to_dict())
        finally:
            with self.lock:
                self.busy.discard(cid)

    def delete(self, conversation_id: str) -> None:
        """Forget a conversation: its partner, events and files."""
        import shutil

        with self.lock:
            if conversation_id in self.busy:
                raise ServiceError("the partner is still working", "wait for it to finish", 409)
            self.partners.pop(conversation_id, None)
        self.db.execute(
            "DELETE FROM conversation_events WHERE conversation_id = ?", conversation_id
        )
        self.db.execute("DELETE FROM conversations WHERE id = ?", conversation_id)
        shutil.rmtree(self.config.folder("conversations", conversation_id), ignore_errors=True)

    def delete_for_dataset(self, dataset_id: str) -> None:
        for row in self.db.all("SELECT id FROM conversations WHERE dataset_id = ?", dataset_id):
            self.delete(row["id"])

    def _keep(self, conversation_id: str, partner: Any) -> None:
        """Hold at most MAX_LIVE partners in memory; the least recently used idle one goes
        (its conversation stays, and starts afresh when it is used again)."""
        self.partners.pop(conversation_id, None)
        self.partners[conversation_id] = partner
        for old in list(self.partners):
            if len(self.partners) <= MAX_LIVE:
                break
            if old not in self.busy:
                del self.partners[old]
