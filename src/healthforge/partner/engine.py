"""The conversation engine: one API for the terminal, the web service and the tests.

``Partner.send(text)`` asks the backend (the rule-based router, or a language model kept on
the rails by it) for a tool call, validates it with ``Tool.validate`` against the actual
data, and either runs it (when the tool needs no approval, or ``auto_approve``) or returns
a ``proposal`` event with the plan and waits for :meth:`Partner.approve` /
:meth:`Partner.reject`. Nothing that fits, uses the real data beyond profiling, makes a
privacy choice or writes a file runs without approval; nothing is overwritten without
consent (an ``overwrite`` argument always asks). Every step is logged
(:class:`~healthforge.partner.session.SessionLog`). No terminal code here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from healthforge.errors import HealthForgeError
from healthforge.partner import templates, workflow
from healthforge.partner.backends.base import Backend, Proposal
from healthforge.partner.events import Action, Event
from healthforge.partner.record import overwritten, result_record, snapshot
from healthforge.partner.router import RouterBackend
from healthforge.partner.session import SessionLog, SessionState, relative_to
from healthforge.partner.tools import ToolContext, ToolError, get_tool, tool_schemas


class Partner:
    """A conversation that takes a table to an evaluated, reported synthetic dataset."""

    def __init__(
        self,
        data: str | Path | pd.DataFrame | None,
        session_dir: str | Path,
        backend: Backend | None = None,
        auto_approve: bool = False,
        allow_rows_to_model: bool = False,
        seed: int = 0,
        progress: Callable[[Event], None] | None = None,
    ) -> None:
        self.session_dir = Path(session_dir)
        self.log = SessionLog(self.session_dir)
        self.auto_approve = auto_approve
        self.progress = progress
        self.state = SessionState(session_dir=self.session_dir, seed=seed)
        self.state.ctx = ToolContext(
            session_dir=self.session_dir, seed=seed, progress=self._tool_progress
        )
        self.router = RouterBackend(self.state)
        self.backend: Backend = backend if backend is not None else self.router
        # rows may reach a model only when the user allows it and the model runs locally
        self.state.allow_rows_to_model = bool(
            allow_rows_to_model and getattr(self.backend, "local", False)
        )
        self.pending: list[Action] = []
        self.actions: dict[str, Action] = {}
        self._count = 0
        self._data = data
        self._started = False
        if isinstance(data, pd.DataFrame):
            self.state.ctx.frame = data
            self.state.ctx.source = None
            self.state.stage = "loaded"
        self.log.start(
            source=None if isinstance(data, pd.DataFrame) else (str(data) if data else None),
            seed=seed,
            backend=self.backend.name,
            uses_model=self.backend.uses_language_model,
        )

    # -- public API -------------------------------------------------------------------
    def start(self) -> list[Event]:
        """The opening: whether a language model is used, then loading DATA (if given).
        Called by the first :meth:`send` when a front end does not call it."""
        if self._started:
            return []
        self._started = True
        events: list[Event] = []
        if not self.backend.uses_language_model:
            events.append(self._notice(templates.NO_MODEL_NOTICE))
            self.state.told_no_model = True
        if self._data is not None and not isinstance(self._data, pd.DataFrame):
            opening = Proposal("load_data", {"source": str(self._data)}, "Loading your table.")
            events += self._handle(opening)
        elif isinstance(self._data, pd.DataFrame):
            events.append(
                self._message(
                    f"Your table is loaded: {len(self._data):,} rows x {self._data.shape[1]} "
                    "columns. Say 'profile' to see what is in it."
                )
            )
        else:
            events.append(
                self._message(
                    "Which table shall we work on? Say 'load FILE.csv' or 'load bundled:icu'."
                )
            )
        return events

    def send(self, text: str) -> list[Event]:
        """One turn of the user: returns what the partner says, proposes and did."""
        events = self.start()
        text = str(text)
        self.state.say("user", text)
        self.log.append("message", role="user", text=text)
        if self.pending:
            action = self.pending[-1]
            decision, changes = self.router.decision(text, action)
            if decision == "approve":
                return events + self.approve(action.id, changes or None)
            if decision == "reject":
                return events + self.reject(action.id, "declined in the conversation")
            if decision == "change":
                return events + self.revise(action.id, changes)
            if decision == "ask":
                return [
                    *events,
                    self._message(
                        "What shall I change? For example 'rows 500', 'generator cart', "
                        "'epsilon 1' or 'aged 65+'."
                    ),
                ]
            for old in list(self.pending):  # a new request replaces what was awaiting
                self._withdraw(old, "replaced by a new request")
        proposal = self._propose(text, events)
        return events + self._handle(proposal)

    def approve(self, action_id: str, changes: dict[str, Any] | None = None) -> list[Event]:
        """Run a proposed action, with ``changes`` to its arguments (validated again)."""
        action = self._pending(action_id)
        params = self._change(action, changes or {})
        if isinstance(params, Event):
            return [params]
        action.status = "approved"
        self.pending.remove(action)
        self.log.append(
            "approved",
            action=action.id,
            tool=action.tool,
            args=action.args,
            changes=changes or {},
            by="user",
        )
        return self._execute(action, params)

    def revise(self, action_id: str, changes: dict[str, Any]) -> list[Event]:
        """Change a pending proposal's arguments (validated again); it still waits."""
        action = self._pending(action_id)
        params = self._change(action, changes)
        if isinstance(params, Event):
            return [params]
        reason = get_tool(action.tool).approval(self.state.ctx, params)
        if action.args.get("overwrite"):
            reason = "it replaces an existing file"
        action.reason = reason or action.reason
        self.log.append(
            "changed",
            action=action.id,
            tool=action.tool,
            args=action.args,
            changes=changes,
            summary=action.summary,
        )
        text = f"Changed. {action.summary}\nI ask first because {action.reason}."
        return [Event("proposal", text=text, action=action)]

    def _change(self, action: Action, changes: dict[str, Any]) -> Any:
        """The action's arguments with ``changes``, validated against the data (its args and
        plan updated), or the error event of a refused change (the proposal still waits)."""
        args = {**action.args, **changes}
        try:
            params = get_tool(action.tool).validate(self.state.ctx, args)
        except ToolError as exc:
            self._log_refusal(exc, action=action.id, tool=action.tool, args=args)
            return self._error(exc, "The change was refused; the proposal still waits.")
        action.args = _dump(params)
        if changes:
            action.summary = workflow.plan_text(action.tool, action.args, self.state)
        return params

    def reject(self, action_id: str, reason: str = "") -> list[Event]:
        """Do not run a proposed action; the partner offers alternatives."""
        action = self._pending(action_id)
        self._withdraw(action, reason)
        options = self.router.alternatives(action)
        self.state.offered = options
        lines = [f"Not run: {action.summary.splitlines()[0]}"]
        if options:
            lines.append("Instead I can:")
            lines += [f"  {i}. {o.why}" for i, o in enumerate(options, 1)]
            lines.append("Say the number of an option, or tell me what you want.")
        else:
            lines.append("Tell me what you would like instead.")
        data = {"alternatives": [{"tool": o.tool, "args": o.args, "why": o.why} for o in options]}
        return [self._message("\n".join(lines), data=data)]

    # -- proposing --------------------------------------------------------------------
    def _propose(self, text: str, events: list[Event]) -> Proposal:
        routed = self.router.propose(text, None, [])
        if not self.backend.uses_language_model:
            return routed
        from healthforge.partner.context import build_context

        context = build_context(
            self.state, allow_rows=self.state.allow_rows_to_model, backend=self.backend
        )
        try:
            proposed = self.backend.propose(text, context, tool_schemas())
        except HealthForgeError as exc:
            events.append(
                self._notice(
                    f"The language model did not answer ({exc.message}); using the rule-based "
                    "choice."
                )
            )
            return routed
        if proposed.tool is None:
            if routed.tool is not None and routed.source == "router":
                events.append(
                    self._notice(
                        "The language model proposed no step; using the rule-based choice "
                        f"({routed.tool})."
                    )
                )
                return routed
            return proposed
        try:
            get_tool(proposed.tool).validate(self.state.ctx, proposed.args)
        except ToolError as exc:
            events.append(
                self._notice(
                    f"The language model proposed {proposed.tool}, which failed validation: "
                    f"{exc.message}; using the rule-based choice."
                )
            )
            return routed
        return proposed

    def _handle(self, proposal: Proposal) -> list[Event]:
        events: list[Event] = []
        if proposal.tool is None:
            events.append(self._message(proposal.text or "How can I help?"))
            return events
        try:
            tool = get_tool(proposal.tool)
            params = tool.validate(self.state.ctx, proposal.args)
        except ToolError as exc:
            self._log_refusal(exc, tool=proposal.tool, args=proposal.args, source=proposal.source)
            return [self._error(exc, self.router.recover(proposal, exc))]
        args = _dump(params)
        reason = tool.approval(self.state.ctx, params)
        if args.get("overwrite"):
            reason = "it replaces an existing file"
        self._count += 1
        action = Action(
            id=f"a{self._count}",
            tool=tool.name,
            args=args,
            summary=workflow.plan_text(tool.name, args, self.state),
            needs_approval=reason is not None,
            reason=reason or "",
        )
        self.actions[action.id] = action
        # duplicates: a record built field by field; alike in shape to other keyword lists
        self.log.append(
            "proposed",
            action=action.id,
            tool=action.tool,
            args=args,
            summary=action.summary,
            needs_approval=action.needs_approval,
            reason=action.reason,
            source=proposal.source,
        )
        if proposal.text:
            events.append(self._message(proposal.text))
        if action.needs_approval and not self.auto_approve:
            self.pending.append(action)
            text = f"{action.summary}\nI ask first because {action.reason}."
            events.append(Event("proposal", text=text, action=action))
            return events
        action.status = "approved"
        self.log.append(
            "approved",
            action=action.id,
            tool=action.tool,
            args=args,
            changes={},
            by="auto_approve" if action.needs_approval else "no approval needed",
        )
        return events + self._execute(action, params)

    # -- running ----------------------------------------------------------------------
    def _execute(self, action: Action, params: Any) -> list[Event]:
        ctx = self.state.ctx
        tool = get_tool(action.tool)
        before = snapshot(self.session_dir)
        try:
            result = tool.execute(ctx, params)
        except HealthForgeError as exc:
            action.status = "failed"
            self.state.failed.append(action.tool)
            self._drop_offer(action)
            self.log.append(
                "failed", action=action.id, tool=action.tool, error=exc.message, hint=exc.hint
            )
            return [self._error(exc, "Nothing was changed by this step.", action)]
        except Exception as exc:  # a bug in a tool: report it, keep the session usable
            action.status = "failed"
            self.state.failed.append(action.tool)
            self._drop_offer(action)
            message = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            self.log.append("failed", action=action.id, tool=action.tool, error=message)
            return [
                Event("error", text=f"internal error in {action.tool}: {message}", action=action)
            ]
        changed = overwritten(before, snapshot(self.session_dir))
        if changed and not action.args.get("overwrite"):
            action.status = "failed"
            error = f"{action.tool} overwrote {', '.join(changed)} without consent"
            self.log.append("failed", action=action.id, tool=action.tool, error=error)
            return [Event("error", text=f"{error}: this is a bug, please report it", action=action)]
        action.status = "done"
        files = [relative_to(self.session_dir / f, self.session_dir) for f in result.files]
        record = result_record(action, result, ctx, self.log)
        self.log.append("result", **record)
        stage_before = self.state.stage
        self.state.done.append(action.tool)
        self.state.offered = []  # options offered before this step are stale now
        if action.tool == "generate":
            self.state.generations.append(dict(action.args))
            self.state.last_privacy_failures = []
        self.state.stage = workflow.advance(self.state.stage, action.tool)
        text = (
            self.backend.explain(result.summary, None)
            if not (self.backend.uses_language_model)
            else self._explain(result.summary)
        )
        self.state.say("partner", text)
        events = [Event("result", text=text, action=action, data=result.data, files=files)]
        events += self._after(action, result, stage_before)
        return events

    def _drop_offer(self, action: Action) -> None:
        """An offered option that failed is not offered again."""
        key = workflow.option_key(action.args)
        self.state.offered = [
            o
            for o in self.state.offered
            if not (o.tool == action.tool and workflow.option_key(o.args) == key)
        ]

    def _after(self, action: Action, result: Any, stage_before: str) -> list[Event]:
        """Backtrack on a failed privacy check; otherwise say what comes next."""
        summary = workflow.evaluation_summary(result.data, self.state.results)
        if action.tool in ("evaluate", "compare") and summary is not None:
            failures = workflow.privacy_failures(summary)
            self.state.last_privacy_failures = failures
            if failures:
                return [self._backtrack(failures)]
        if self.state.stage == stage_before:
            return []
        nxt = self.router.next_hint()
        return [self._message(nxt)] if nxt else []

    def _backtrack(self, failures: list[dict[str, Any]]) -> Event:
        self.state.stage = "generator_chosen"
        self.state.backtracks += 1
        options = workflow.backtrack_options(
            self.state.generations[-1] if self.state.generations else None,
            self.state.generations,
        )
        self.state.offered = options
        self.log.append(
            "backtrack",
            failures=failures,
            options=[{"tool": o.tool, "args": o.args} for o in options],
        )
        data = {
            "privacy_failures": failures,
            "alternatives": [{"tool": o.tool, "args": o.args, "why": o.why} for o in options],
        }
        return Event("notice", text=templates.privacy_failed(failures, options), data=data)

    def _explain(self, summary: str) -> str:
        from healthforge.partner.context import build_context

        context = build_context(
            self.state, allow_rows=self.state.allow_rows_to_model, backend=self.backend
        )
        try:
            return self.backend.explain(summary, context)
        except HealthForgeError:
            return self.router.explain(summary, None)

    # -- small helpers ----------------------------------------------------------------
    def _pending(self, action_id: str) -> Action:
        for action in self.pending:
            if action.id == action_id:
                return action
        known = self.actions.get(action_id)
        if known is not None:
            raise HealthForgeError(
                f"action {action_id} is {known.status}, not awaiting a decision",
                "approve or reject one of the pending proposals",
            )
        waiting = ", ".join(a.id for a in self.pending) or "none"
        raise HealthForgeError(f"there is no action {action_id}", f"pending: {waiting}")

    def _withdraw(self, action: Action, reason: str) -> None:
        action.status = "rejected"
        self.pending.remove(action)
        self.log.append("rejected", action=action.id, tool=action.tool, reason=reason)

    def _log_refusal(self, exc: ToolError, **fields: Any) -> None:
        """Record a refused tool call: what was asked (``fields``), the error and its hint."""
        self.log.append("refused", **fields, error=exc.message, hint=exc.hint)

    def _tool_progress(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(
                Event("progress", text=stage, data={"stage": stage, "done": done, "total": total})
            )

    def _message(self, text: str, data: dict[str, Any] | None = None) -> Event:
        self.state.say("partner", text)
        self.log.append("said", kind="message", text=text)
        return Event("message", text=text, data=data or {})

    def _notice(self, text: str) -> Event:
        self.state.say("partner", text)
        self.log.append("said", kind="notice", text=text)
        return Event("notice", text=text)

    def _error(self, exc: HealthForgeError, then: str, action: Action | None = None) -> Event:
        text = exc.message + (f"\n{exc.hint}" if exc.hint else "") + (f"\n{then}" if then else "")
        self.state.say("partner", text)
        return Event(
            "error", text=text, action=action, data={"error": exc.message, "hint": exc.hint}
        )


def _dump(params: Any) -> dict[str, Any]:
    return dict(params.model_dump(mode="json"))


__all__ = ["Partner"]
