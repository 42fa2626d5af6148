"""The deterministic intent router: the partner without a language model.

It reads the user's words (keywords, patterns, misspellings, units: "aged 65+", "ε=1",
"500 patients", "region South") and the stage of the workflow, and proposes one
registered tool with arguments. On its own it completes the whole workflow - load,
profile, screen identifiers, choose a generator, generate, evaluate (backtracking when a
privacy check fails), report, export - with template explanations. It implements the
:class:`~healthforge.partner.backends.base.Backend` protocol; with a language model it is
the fallback and the rails.
"""

from __future__ import annotations

import re
from typing import Any

from healthforge.partner import arguments, parsing, workflow
from healthforge.partner.backends.base import Proposal
from healthforge.partner.events import Action
from healthforge.partner.session import SessionState
from healthforge.partner.templates import EXHAUSTED, EXPLAIN, NEXT_TEXT, OUT_OF_SCOPE
from healthforge.partner.workflow import Option

# no request for rows in the text (set_privacy's patterns that would otherwise catch
# "generate 500 rows with epsilon 1")
_NOT_ROWS = (
    r"^(?!.*\b(?:generat|synthes|make\b|create\b|rows?\b|patients?\b|records?\b|people\b)).*"
)
# intents, most specific first: (tool, patterns on the normalised text)
INTENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("export_code", (r"\bexport\b", r"\bscript\b", r"\bpython code\b", r"\breproduc")),
    (
        "explain_report",
        (
            r"explain (?:the |this )?(?:report|result|evaluation)",
            r"what does .* mean",
            r"what do (?:these|the|my|those) .*mean",
            r"\binterpret\b",
        ),
    ),
    ("write_report", (r"\breport\b", r"\bsign[- ]off\b", r"\bhtml\b")),
    (
        "augment",
        (
            r"\baugment",
            r"under-?represented",
            r"\boversample",
            r"\bboost\b",
            r"\bmore (?:of|women|men|patients from)\b",
            r"\bbalance\b",
        ),
    ),
    # "how good is the synthetic data? can anyone be re-identified from it?" (after generating)
    (
        "evaluate",
        (
            r"how good is (?:the |this |my )?synthetic",
            r"identif\w* from (?:it|the synth)",
            r"how private is (?:it|this|the synth)",
            r"\b(?:any good|good enough)\b",
        ),
    ),
    (
        "fairness",
        (
            r"\bfair",
            r"\bbias",
            r"\bsubgroup",
            r"\bequit",
            r"across groups",
            r"\bequally (?:well|good)",
            r"\bfor (?:men and women|women and men|each group)",
        ),
    ),
    ("compare", (r"\bcompare\b", r"\bcomparison\b", r"\bversus\b", r"\bvs\.?\b")),
    ("run_scenario", (r"\bscenario\b",)),
    (
        "recommend_generators",
        (
            r"\brecommend",
            r"which (?:generator|method|model)",
            r"\bbest (?:generator|method)",
            r"\bsuggest",
            r"\b(?:pick|choose|select) (?:a |the )?(?:generator|method)",
            r"\b(?:generator|method) (?:fits|suits|works)",
        ),
    ),
    (
        "set_privacy",
        (
            r"\bprivacy (?:preset|level|setting)",
            r"^(?:use |set )?(?:strict|"
            r"standard) privacy",
            r"differential privacy$",
            # privacy words without a request to generate: "I want differential privacy, ε 1"
            _NOT_ROWS + r"\bdifferential(?:ly)? privat",
            _NOT_ROWS + r"(?:\bepsilon\b|ε)",
        ),
    ),
    (
        "screen_phi",
        (r"\bphi\b", r"\bpii\b", r"\bidentif", r"\bnames?\b", r"\bsensitive\b", r"\bre-?identif"),
    ),
    (
        "drop_columns",
        (
            r"\bdrop\b",
            r"\bremove\b",
            r"\bexclude\b",
            r"\bleave out\b",
            r"\bdelete\b",
            r"\bget rid of\b",
        ),
    ),
    ("plot_column", (r"\bplot\b", r"\bhistogram\b", r"\bchart\b", r"\bgraph\b")),
    (
        "describe_column",
        (
            r"\bdescribe\b",
            r"\bdistribution\b",
            r"\bwhat is\b",
            r"\btell me about\b",
            r"\bsummar",
            r"\bdistributed\b",
            r"\bvalues of\b",
            r"\brange of\b",
        ),
    ),
    (
        "evaluate",
        (
            r"\bevaluat",
            r"\bcheck\b",
            r"\bhow good\b",
            r"\bhow (?:close|private)",
            r"\bassess",
            r"\bmetrics\b",
            r"\bvalidate\b",
        ),
    ),
    (
        "generate",
        (
            r"\bgenerat",
            r"\bsynthes",
            r"\bsynthetic\b",
            r"\bcreate\b",
            r"\bmake\b",
            r"\bsimulate\b",
            rf"\b{parsing.UNITS}\b",
        ),
    ),
    (
        "profile_data",
        (
            r"\bprofile\b",
            r"\boverview\b",
            r"\bwhat(?:'s| is) in\b",
            r"\blook at\b",
            r"\banaly[sz]",
            r"\banali[sz]",
            r"\bcolums?\b",
            r"\bvariables\b",
            r"\bsummar",
            r"\bexplore\b",
            r"\bcolumns\b",
        ),
    ),
    (
        "load_data",
        (
            r"\bload\b",
            r"\bopen\b",
            r"\bread\b",
            r"bundled:\w+",
            r"\.(?:csv|tsv|"
            r"parquet|xlsx?)\b",
        ),
    ),
)
CONTINUE = re.compile(
    r"^\s*(?:next|continue|go on|carry on|proceed|go ahead|ok(?:ay)?|yes|y|sure|do it|"
    r"what(?:'s| is)? next\??|next step|keep going|please continue)(?:\s+please)?\W*\s*$",
    re.IGNORECASE,
)
APPROVE = re.compile(
    r"^\s*(?:1|y|yes|yep|ok(?:ay)?|approve[d]?|go|go ahead|do it|run it|sure|fine|"
    r"proceed|continue|next|please do|sounds good|agreed?)\b",
    re.IGNORECASE,
)
REJECT = re.compile(
    r"^\s*(?:3|n|no|nope|reject|don'?t|do not|cancel|stop|skip|not now|abort)\b",
    re.IGNORECASE,
)
CHANGE = re.compile(r"^\s*(?:2|change|modify|edit|adjust)\b", re.IGNORECASE)
OPTION = re.compile(r"^\s*(?:option\s*|choice\s*|number\s*|#)?(\d)\s*\.?\s*$", re.IGNORECASE)
# requests outside the workflow (clinical advice, sending files, small talk): a plain answer
OUT_OF_SCOPE_PATTERNS = (
    r"\bprescri",
    r"\bdos(?:e|age|ing)\b",
    r"\bweather\b",
    r"\b(?:e-?mail|send|upload|post|share) (?:the |this |it |my )?(?:\w+ )?(?:file|data|it)\b",
)
# "profile it and then check identifiers": the first step is what comes before "then"
THEN = re.compile(r",?\s*\b(?:and then|then|after that|afterwards|followed by)\b")


class RouterBackend:
    """Rule-based proposals and template explanations; reads the session state."""

    name = "router"
    uses_language_model = False
    local = True

    def __init__(self, state: SessionState) -> None:
        self.state = state

    # -- Backend protocol -------------------------------------------------------------
    def propose(self, text: str, context: Any, tools: list[dict[str, Any]]) -> Proposal:
        raw = text.strip()
        low = parsing.normalise(raw).lower()
        picked = OPTION.match(raw)
        if picked and self.state.offered:
            index = int(picked.group(1)) - 1
            if 0 <= index < len(self.state.offered):
                return self._option(self.state.offered[index])
        if CONTINUE.match(low) or not low:
            return self.next_proposal()
        if any(re.search(p, low) for p in OUT_OF_SCOPE_PATTERNS):
            return Proposal(None, {}, OUT_OF_SCOPE)
        tool = self.intent(THEN.split(low)[0]) or self.intent(low)
        if (
            tool is None
            and self.state.frame is not None
            and (parsing.parse_rows(low) or self._conditions(low))
        ):
            tool = "generate"  # "women over 50", "500 more": a request for rows
        if tool is None:
            return Proposal(None, {}, OUT_OF_SCOPE)
        return Proposal(tool, self.arguments(tool, raw, low))

    def explain(self, result_summary: str, context: Any) -> str:
        last = self.state.done[-1] if self.state.done else ""
        extra = EXPLAIN.get(last, "")
        return f"{result_summary}\n{extra}".strip()

    # -- what the engine asks the router ----------------------------------------------
    def intent(self, low: str) -> str | None:
        for tool, patterns in INTENTS:
            if any(re.search(p, low) for p in patterns):
                if (
                    tool == "load_data"
                    and self.state.frame is not None
                    and not re.search(r"bundled:|\.(?:csv|tsv|parquet|xlsx?)\b", low)
                ):
                    continue
                if tool in ("describe_column", "plot_column") and not parsing.find_columns(
                    low, self.state.columns
                ):
                    continue  # "what is the weather": no column named, not this intent
                if (
                    tool == "screen_phi"
                    and self.state.generations
                    and re.search(r"re-?identif|how good|how private|\bsafe\b", low)
                ):
                    return "evaluate"  # once rows exist, "can anyone be re-identified?"
                return tool
        return None

    def next_proposal(self) -> Proposal:
        """The next step of the workflow (the first backtracking option after a failed
        privacy check)."""
        if self.state.last_privacy_failures and self.state.offered:
            return self._option(self.state.offered[0])
        if self.state.last_privacy_failures and self.state.stage == "generator_chosen":
            if self.state.done and self.state.done[-1] == "set_privacy":
                # the same request (rows, conditions) under the new privacy setting
                last = self.state.generations[-1] if self.state.generations else {}
                kept = {k: last[k] for k in ("rows", "conditions") if last.get(k)}
                return Proposal("generate", {**self.arguments("generate", "", ""), **kept})
            return Proposal(None, {}, EXHAUSTED)
        tool = workflow.next_step(self.state.stage)
        if tool is None:
            return Proposal(None, {}, NEXT_TEXT.get(self.state.stage, "Everything is done."))
        if tool == "load_data":
            return Proposal(None, {}, "Which table? Say 'load FILE.csv' or 'load bundled:icu'.")
        text = ""
        if tool in self.state.failed and tool in workflow.REACHES:
            skipped = tool
            tool = workflow.next_step(workflow.REACHES[tool]) or tool
            text = f"{skipped} failed earlier, so I go on with {tool}."
        return Proposal(tool, self.arguments(tool, "", ""), text)

    def next_hint(self) -> str:
        text = NEXT_TEXT.get(self.state.stage, "")
        if text and not text.startswith("Done"):
            text += " Say 'next' to go on, or ask for something else."
        return text

    def decision(self, text: str, action: Action) -> tuple[str | None, dict[str, Any]]:
        """The user's answer to a pending proposal: ``approve``, ``reject``, ``change``
        (with the changed arguments), ``ask`` (what to change?) or ``None`` (a new
        request)."""
        low = parsing.normalise(text).lower()
        changes = self.changes(action.tool, text, low)
        if REJECT.match(low):
            return "reject", {}
        if changes:
            return "change", changes
        if CHANGE.match(low):
            return "ask", {}
        if APPROVE.match(low):
            return "approve", {}
        return None, {}

    def changes(self, tool: str, raw: str, low: str) -> dict[str, Any]:
        if tool not in ("generate", "augment"):
            return {}
        found = self.arguments(tool, raw, low)
        return {
            k: v
            for k, v in found.items()
            if k != "generator"
            or "generator" in low
            or parsing.parse_generator(low, self._generator_names())
        }

    def alternatives(self, action: Action) -> list[Option]:
        """What to offer when the user rejects ``action``."""
        if action.tool in ("generate", "augment"):
            current = action.args.get("generator")
            base = {k: v for k, v in action.args.items() if k not in ("generator", "params")}
            options = []
            for name, why in (
                ("cart", "cart: fast, strong fidelity on mixed tables"),
                ("bayesian_network", "bayesian_network: robust, models the joint structure"),
                ("dp_copula", "dp_copula with ε = 1: differentially private"),
            ):
                if name != current:
                    args = {**base, "generator": name, "params": {}}
                    if name == "dp_copula":
                        args["epsilon"] = 1.0
                    options.append(Option(action.tool, args, why))
            return options
        nxt = workflow.next_step(workflow.advance(self.state.stage, action.tool))
        if nxt and nxt != action.tool:
            return [Option(nxt, self.arguments(nxt, "", ""), f"skip it and go on: {nxt}")]
        return []

    def recover(self, proposal: Proposal, exc: Exception) -> str:
        return (
            f"I did not run {proposal.tool}. Say it again with the corrected value, or "
            "'next' to continue with the next step."
        )

    # -- arguments --------------------------------------------------------------------
    def arguments(self, tool: str, raw: str, low: str) -> dict[str, Any]:
        return arguments.tool_arguments(self.state, tool, raw, low)

    def _conditions(self, low: str) -> list[str]:
        return arguments.conditions(self.state, low)

    def _generator_names(self) -> list[str]:
        return arguments.generator_names()

    def _fresh(self, stem: str, suffix: str) -> str:
        return arguments.fresh(self.state, stem, suffix)

    def _option(self, option: Option) -> Proposal:
        args = dict(option.args)
        if option.tool in arguments.OUTPUTS:
            args["output"] = self._fresh(*arguments.OUTPUTS[option.tool])
        return Proposal(option.tool, args, f"Taking the option: {option.why}.")
