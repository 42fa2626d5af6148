"""What the partner says in its own words when no language model writes it: the notice
that it runs without one, template explanations of each step, what comes next, and the
message of a failed privacy check."""

from __future__ import annotations

from typing import Any

NO_MODEL_NOTICE = (
    "I am running without a language model: a rule-based router picks each step from your "
    "words and the stage of the work, and my explanations are templates."
)

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
    "exported": "Done: the report and the script that reproduces it are written. Ask for "
    "anything else (another generator, a subgroup, a fairness check), or stop here.",
}


def privacy_failed(failures: list[dict[str, Any]], options: list[Any]) -> str:
    """The message of a failed privacy check and the fixes on offer."""
    what = "; ".join(
        f"{f['metric']} = {_fmt(f['value'])} ({f['verdict'] or 'fail: ' + str(f['threshold'])})"
        for f in failures
    )
    lines = [f"The privacy check failed: {what}.", "I will not call these rows shareable."]
    if options:
        lines.append("To fix it I can generate again with:")
        lines += [f"  {i}. {o.why}" for i, o in enumerate(options, 1)]
        lines.append("and evaluate again. Say a number, or 'next' for option 1.")
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)
