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

from healthforge.partner import parsing, workflow
from healthforge.partner.backends.base import Proposal
from healthforge.partner.events import Action
from healthforge.partner.session import SessionState
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
EXHAUSTED = (
    "I have tried every fix I know for this privacy check. These rows should not be shared "
    "as they are. You can write the report to document it, drop quasi-identifiers, or ask a "
    "data steward; say 'report' to write it."
)
OUT_OF_SCOPE = (
    "I can help you turn a health table into a synthetic dataset: load and profile it, "
    "screen identifiers, choose a generator, generate, evaluate privacy, fidelity, utility "
    "and fairness, and write a report. Say 'next' to take the next step."
)
EXPLAIN = {
    "load_data": "Your table stays on this computer; I only look at its shape and summaries.",
    "profile_data": "The profile shows each column's kind, range and missing values, which "
    "decides how the generators model it.",
    "screen_phi": "Direct identifiers (names, IDs, exact dates, addresses) are never "
    "modelled; dropping them is the first privacy step.",
    "drop_columns": "Dropped columns are left out of every model and every output.",
    "recommend_generators": "The choice is a trade-off between fidelity, utility, privacy "
    "and time; the evidence comes from the benchmark.",
    "generate": "The synthetic rows are new draws from a model of your table, not copies; "
    "the evaluation checks how close any of them come to a real person.",
    "augment": "Augmenting adds synthetic rows for the small group so that models trained "
    "on the data see enough of it; the evaluation says whether it helped.",
    "evaluate": "Fidelity asks whether the synthetic data looks like the real data, utility "
    "whether models trained on it work on real patients, and privacy whether anyone could "
    "be re-identified.",
    "fairness": "Fairness compares the quality of the synthetic data group by group.",
    "write_report": "The report is one offline HTML file a data steward can read and sign off.",
    "export_code": "The script uses HealthForge's public API and reproduces this session's "
    "outputs byte for byte on the same data.",
}
NEXT_TEXT = {
    "loaded": "Next: a profile of the table (kinds, ranges, missing values).",
    "profiled": "Next: screen the columns for direct identifiers that must not be modelled.",
    "phi_screened": "Next: choose a generator for this table (with the evidence for it).",
    "generator_chosen": "Next: generate the synthetic rows.",
    "generated": "Next: evaluate fidelity, utility and privacy against real rows held out.",
    "evaluated": "Next: write the report for sign-off.",
    "reported": "Done: the report is written. Say 'export' for a Python script that "
    "reproduces this session.",
}


# tools that write one file: a fresh name each time, so nothing is ever overwritten
OUTPUTS = {
    "generate": ("synthetic", ".csv"),
    "evaluate": ("evaluation", ".json"),
    "fairness": ("fairness", ".json"),
    "write_report": ("report", ".html"),
    "compare": ("comparison", ".json"),
}


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
            return Proposal(None, {}, "Everything is done.")
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
        state = self.state
        columns = state.columns
        values = parsing.category_values(state.frame, state.schema)
        args: dict[str, Any] = {}
        if tool == "load_data":
            match = re.search(r"(bundled:\w+|\S+\.(?:csv|tsv|parquet|xlsx?))", raw, re.IGNORECASE)
            if match:
                args["source"] = match.group(1)
        elif tool == "augment":
            generator = parsing.parse_generator(low, self._generator_names())
            if generator is not None and generator != "auto":
                args["generator"] = generator
            conditions = parsing.parse_conditions(low, columns, values) if low else []
            args.update(self._group(low, columns, values, conditions))
            args["output"] = self._fresh("augmented", ".csv")
            args["report"] = self._fresh("augment_report", ".html")
        elif tool == "generate":
            generator = parsing.parse_generator(low, self._generator_names())
            strict = (state.results.get("privacy") or {}).get("preset") == "strict"
            if generator is None and strict:
                generator = workflow.DP_FALLBACK  # fast on small tables
            if generator is None and state.generations:
                generator = state.generations[-1].get("generator")
            epsilon = parsing.parse_epsilon(low)
            if generator is None and epsilon is not None:
                generator = workflow.DP_FALLBACK  # a budget asks for a DP generator
            if generator is None:
                generator = self._recommended()
            if generator is not None:
                args["generator"] = generator
            rows = parsing.parse_rows(low)
            if rows is not None:
                args["rows"] = rows
            if epsilon is not None:
                args["epsilon"] = epsilon
            privacy = parsing.parse_privacy(low)
            if privacy is not None:
                args["privacy"] = privacy
            conditions = parsing.parse_conditions(low, columns, values) if low else []
            if conditions:
                args["conditions"] = conditions

        elif tool == "evaluate":
            last = state.generations[-1] if state.generations else {}
            if last.get("conditions"):
                args["against"] = "conditioned"  # judge rows against the real subgroup
        elif tool in ("describe_column", "plot_column"):
            found = parsing.find_columns(low, columns)
            if found:
                args["column"] = found[0]
        elif tool == "drop_columns":
            args["columns"] = parsing.find_columns(low, columns)
        elif tool == "fairness":
            by = self._by(low, columns)
            if by:
                args["by"] = by
        elif tool == "recommend_generators":
            priority = re.search(r"\b(privacy|private|utility|fidelity|speed|fast|quick)", low)
            if priority:
                word = priority.group(1)
                args["priority"] = {"private": "privacy", "fast": "speed", "quick": "speed"}.get(
                    word, word
                )
        elif tool == "set_privacy":
            args["preset"] = parsing.parse_privacy(low) or "standard"
            epsilon = parsing.parse_epsilon(low)
            if epsilon is not None:
                args["epsilon"] = epsilon
        if tool in OUTPUTS:
            args["output"] = self._fresh(*OUTPUTS[tool])
        return args

    def _group(
        self, low: str, columns: list[str], values: dict[str, list[str]], conditions: list[str]
    ) -> dict[str, Any]:
        """The group to augment: a condition (``sex=Female``) or a column (``by race``)."""
        eq = [c for c in conditions if "=" in c and not any(o in c for o in "<>!")]
        if eq:
            return {"balance": eq[0].split("=", 1)[0]}
        by = self._by(low, columns)
        return {"balance": by} if by else {}

    def _by(self, low: str, columns: list[str]) -> str | None:
        match = re.search(r"\b(?:by|across|per|for each|between)\s+(?:the\s+)?([\w]+)", low)
        if match:
            found = parsing.find_columns(match.group(1), columns)
            if found:
                return found[0]
        found = parsing.find_columns(low, columns, fuzzy=False)
        return found[0] if found else None

    def _recommended(self) -> str | None:
        """The first generator recommend_generators suggested, if it ran."""
        ranked = self.state.results.get("recommended")
        return str(ranked[0]) if isinstance(ranked, list) and ranked else None

    def _fresh(self, stem: str, suffix: str) -> str:
        """A file name not yet used in the session folder (nothing is overwritten)."""
        name, n = f"{stem}{suffix}", 1
        while (self.state.session_dir / name).exists():
            n += 1
            name = f"{stem}_{n}{suffix}"
        return name

    def _conditions(self, low: str) -> list[str]:
        values = parsing.category_values(self.state.frame, self.state.schema)
        return parsing.parse_conditions(low, self.state.columns, values)

    def _generator_names(self) -> list[str]:
        from healthforge.generators import generator_names

        return list(generator_names())

    def _option(self, option: Option) -> Proposal:
        args = dict(option.args)
        if option.tool in OUTPUTS:
            args["output"] = self._fresh(*OUTPUTS[option.tool])
        return Proposal(option.tool, args, f"Taking the option: {option.why}.")
