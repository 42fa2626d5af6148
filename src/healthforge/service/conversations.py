"""The AI partner in the service: one conversation per user and dataset.

Each conversation is a :class:`healthforge.partner.Partner` over the dataset's rows (the
table is handed in: the partner never sees a path), with its session folder under the
data directory, running in a process of its own (:mod:`.partner_worker`): a partner step
that crashes fails that step, never the server. The service lets the partner use only
the tools on :data:`SERVICE_TOOLS` and refuses, before anything runs, a proposal that
would read a file by path (loading another table, a schema file): in the service, a
conversation's data is its dataset and nothing else on the server. Events are stored, so
the conversation survives a restart (the partner itself starts afresh then, and says
so). One request at a time runs per conversation; at most ``max_jobs`` run at once on
the server, ``max_jobs_per_user`` for one user. With a language model (``serve
--llm-url``), rows never reach it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

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
MAX_LIVE = 8  # partner processes kept (each holds the library and its dataset's rows)


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


def language_model(url: str | None = None, model: str | None = None) -> Any:
    """The partner's language model: the OpenAI-compatible endpoint at ``url`` (else
    ``HEALTHFORGE_LLM_BASE_URL``, as ``healthforge partner`` reads it), or None for the
    rule-based router. The service never lets rows reach it (local or remote)."""
    import os

    if not (url or os.environ.get("HEALTHFORGE_LLM_BASE_URL")):
        return None
    from healthforge.partner.backends.openai_compat import OpenAICompatBackend

    return OpenAICompatBackend(base_url=url or None, model=model or None)


class PartnerStopped(Exception):
    """The partner's process ended in the middle of a call."""


class PartnerProcess:
    """A conversation's partner in its own process (:mod:`.partner_worker`)."""

    def __init__(self, config: ServiceConfig, conversation_id: str, llm: list[str]) -> None:
        log_path = config.data_dir / "logs" / f"partner-{conversation_id}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "healthforge.service.partner_worker",
            str(config.data_dir),
            conversation_id,
            str(os.getpid()),
            *llm,
        ]
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,  # stopped with everything it starts
            )
        self.pending: list[dict[str, Any]] = []

    def call(self, call: str, args: list[Any], emit: Emit) -> None:
        """Run ``partner.<call>(*args)`` there, passing each event to ``emit``."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write((json.dumps({"call": call, "args": args}) + "\n").encode())
            self.proc.stdin.flush()
        except OSError:
            raise PartnerStopped from None
        for line in self.proc.stdout:
            message = json.loads(line)
            if "event" in message:
                emit(message["event"])
            elif message.get("done"):
                self.pending = message["pending"]
                return
        raise PartnerStopped

    def stop(self) -> None:
        from healthforge.service.jobs import stop_process

        stop_process(self.proc)  # type: ignore[arg-type]


class Conversations:
    """The live partners of one server, by conversation id: each in its own process.

    At most ``max_jobs`` partner steps run at once on the server and
    ``max_jobs_per_user`` for one user (the job limits); a partner whose process dies
    fails the step it was on, and the next request starts it afresh from the dataset.
    """

    def __init__(self, config: ServiceConfig, db: Database) -> None:
        self.config, self.db = config, db
        self.partners: dict[str, PartnerProcess] = {}
        self.busy: set[str] = set()
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(config.max_jobs)
        self.user_slots: dict[str, threading.BoundedSemaphore] = {}
        # partner processes die with the thread that starts them (PR_SET_PDEATHSIG is per
        # thread): they are started by this one long-lived thread, not a request's
        self.spawner = ThreadPoolExecutor(1, thread_name_prefix="healthforge-partners")
        self.model = language_model(config.llm_url, config.llm_model)
        self.llm = [] if self.model is None else [self.model.base_url, self.model.model]

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
        return [] if partner is None else list(partner.pending)

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

    def _partner(self, conversation: dict[str, Any], emit: Emit) -> PartnerProcess:
        partner = self.partners.get(conversation["id"])
        if partner is not None and partner.proc.poll() is None:
            self._keep(conversation["id"], partner)
            return partner
        if self.db.one("SELECT id FROM datasets WHERE id = ?", conversation["dataset_id"]) is None:
            raise ServiceError("the conversation's dataset was deleted", None, 404)
        restarted = self.config.folder("conversations", conversation["id"]).exists()
        partner = self.spawner.submit(
            PartnerProcess, self.config, conversation["id"], self.llm
        ).result()
        if restarted:
            emit({"kind": "notice", "text": RESTARTED, "action": None, "data": {}, "files": []})
        self._keep(conversation["id"], partner)
        return partner

    def run(
        self, conversation: dict[str, Any], call: str, emit: Emit, *args: Any, said: str = ""
    ) -> None:
        """Run ``partner.<call>(*args)`` (send, approve, reject) in the conversation's
        process, passing every event to ``emit`` as it happens and storing it; one call at
        a time per conversation. ``said``: the user's turn as the conversation shows it."""
        cid = conversation["id"]
        with self.lock:
            if cid in self.busy:
                raise ServiceError(
                    "the partner is still working on your last request",
                    "wait for it to finish",
                    409,
                )
            self.busy.add(cid)
            user_slot = self.user_slots.setdefault(
                conversation["owner"], threading.BoundedSemaphore(self.config.max_jobs_per_user)
            )

        def both(event: dict[str, Any]) -> None:
            if event.get("kind") != "progress":
                self._store(cid, event)
            emit(event)

        try:
            if said:
                both({"kind": "user", "text": said, "action": None, "data": {}, "files": []})
            with user_slot, self.slots:
                partner = self._partner(conversation, both)
                try:
                    partner.call(call, list(args), both)
                except PartnerStopped:
                    self._forget(cid)
                    both(_stopped(partner.proc.wait(timeout=10)))
        finally:
            with self.lock:
                self.busy.discard(cid)

    def _forget(self, conversation_id: str) -> None:
        with self.lock:
            partner = self.partners.pop(conversation_id, None)
        if partner is not None:
            partner.stop()

    def delete(self, conversation_id: str) -> None:
        """Forget a conversation: its partner, events and files."""
        import shutil

        with self.lock:
            if conversation_id in self.busy:
                raise ServiceError("the partner is still working", "wait for it to finish", 409)
        self._forget(conversation_id)
        self.db.execute(
            "DELETE FROM conversation_events WHERE conversation_id = ?", conversation_id
        )
        self.db.execute("DELETE FROM conversations WHERE id = ?", conversation_id)
        shutil.rmtree(self.config.folder("conversations", conversation_id), ignore_errors=True)

    def delete_for_dataset(self, dataset_id: str) -> None:
        for row in self.db.all("SELECT id FROM conversations WHERE dataset_id = ?", dataset_id):
            self.delete(row["id"])

    def stop(self) -> None:
        """Stop every partner process (the server is shutting down)."""
        for conversation_id in list(self.partners):
            self._forget(conversation_id)
        self.spawner.shutdown(wait=False)

    def _keep(self, conversation_id: str, partner: PartnerProcess) -> None:
        """Hold at most MAX_LIVE partner processes; the least recently used idle one stops
        (its conversation stays, and starts afresh when it is used again)."""
        with self.lock:
            self.partners.pop(conversation_id, None)
            self.partners[conversation_id] = partner
            idle = [c for c in self.partners if c not in self.busy and c != conversation_id]
            surplus = idle[: max(len(self.partners) - MAX_LIVE, 0)]
            stopped = [self.partners.pop(c) for c in surplus]
        for old in stopped:
            old.stop()


def _stopped(code: int | None) -> dict[str, Any]:
    """The event of a step whose partner process died."""
    return {
        "kind": "error",
        "text": f"the partner's process stopped unexpectedly (exit code {code}) during this "
        "step, which failed; nothing else is affected - ask again to start afresh from your "
        "dataset",
        "action": None,
        "data": {},
        "files": [],
    }
