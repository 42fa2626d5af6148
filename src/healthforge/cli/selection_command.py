"""``healthforge recommend``: which generator to use for a table, and why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from healthforge.cli.common import app, console, err_console, handle_errors, parse_drop
from healthforge.errors import HealthForgeError

if TYPE_CHECKING:
    from healthforge.selection import MetaFeatures, SelectionStore

PRIORITY_HELP = "What matters most: privacy | utility | fidelity | speed (repeatable)."
STORE_HELP = (
    "What the policy learnt for you (JSON; default ~/.healthforge/selection/USER.json, "
    "or $HEALTHFORGE_SELECTION_DIR/USER.json)."
)


def open_store(path: Path | None) -> SelectionStore:
    from healthforge.selection import SelectionStore

    return SelectionStore.open(path)


@app.command("recommend")
@handle_errors
def recommend_command(
    data: str = typer.Argument(..., help="A CSV/TSV/Parquet/Excel file, or bundled:NAME."),
    priority: list[str] | None = typer.Option(None, "--priority", "-p", help=PRIORITY_HELP),
    privacy: str = typer.Option("none", "--privacy", help="Preset: none | standard | strict."),
    schema: Path | None = typer.Option(None, "--schema", help="Schema file (YAML/JSON)."),
    target: str | None = typer.Option(None, "--target", help="Outcome column."),
    drop: list[str] | None = typer.Option(None, "--drop", help="Columns to leave out."),
    time_budget: float | None = typer.Option(
        None, "--time-budget", help="Longest acceptable fit, in seconds."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the Thompson draw."),
    store: Path | None = typer.Option(None, "--store", help=STORE_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the recommendation as JSON."),
) -> None:
    """Rank the generators for DATA with the evidence behind each (Bayesian selection
    with a benchmark prior; reads only the table's shape, never evaluates on it)."""
    from healthforge.selection import Priorities
    from healthforge.selection.policy import PRIVACY_CHOICES
    from healthforge.selection.runs import choose

    if privacy not in PRIVACY_CHOICES:
        raise HealthForgeError(
            f"unknown privacy preset '{privacy}'", f"choose one of: {', '.join(PRIVACY_CHOICES)}"
        )
    priorities = Priorities.from_names(priority, time_budget_s=time_budget)
    data_section = {
        "source": data,
        "schema": str(schema) if schema is not None else None,
        "target": target,
        "drop": parse_drop(drop),
    }
    rec, meta = choose(data_section, privacy, priorities, open_store(store), seed)
    if json_out:
        payload = {"meta": meta.to_dict(), **rec.to_dict()}
        console.print_json(json.dumps(payload))
        return
    console.print(
        f"[bold]Generators for {data}[/] ({priorities.words()} priorities, privacy {privacy})",
        highlight=False,
    )
    for i, choice in enumerate(rec.ranked, 1):
        eps = f" ε={choice.params['epsilon']:g}" if choice.params else ""
        console.print(
            f"{i:>2}. [bold]{choice.name}{eps}[/]  draw {choice.score:.2f}, "
            f"best in {choice.p_best:.0%} of draws",
            highlight=False,
        )
        console.print(f"    {choice.evidence.split(': ', 1)[1]}", highlight=False)
    console.print(rec.explanation, highlight=False)


class AutoPick:
    """``generate --generator auto``: the policy's pick for a run, and learning from it."""

    def __init__(self, generator: str, meta: MetaFeatures | None, store: SelectionStore) -> None:
        self.generator, self.meta, self.store = generator, meta, store

    def learn(self, result: Any) -> None:
        """Record an evaluated run in the user's store (an unevaluated one teaches nothing)."""
        from healthforge.selection.runs import learn_from_run

        if getattr(result, "evaluation", None) is None:
            return
        learn_from_run(result, self.store, self.meta)
        err_console.print(
            f"selection: recorded this run's evaluation in {self.store.path} "
            "(later recommendations learn from it)",
            highlight=False,
        )


def learn_from_cli_run(result: Any, auto: AutoPick | None) -> None:
    """After ``generate --evaluate``: record the run in the user's store, unless its
    reward would not measure the generator as the benchmark does (rows drawn under
    conditions, one model per group, parameters other than the defaults and epsilon)."""
    if getattr(result, "evaluation", None) is None:
        return
    spec = result.spec
    custom = set(spec.generator.params) - {"epsilon", "delta"}
    if spec.conditions or spec.generator.fair is not None or custom:
        return
    if auto is None:
        auto = AutoPick(result.generator, None, open_store(None))
    auto.learn(result)


def pick_generator(
    data: dict[str, Any],
    privacy: str,
    params: dict[str, Any],
    seed: int,
    priority: list[str] | None = None,
) -> AutoPick:
    """The generator the selection policy picks for ``data`` under ``privacy``; says what
    it picked and why."""
    from healthforge.selection.runs import choose

    if params:
        raise HealthForgeError(
            "--generator auto takes no --param, --epsilon or --delta (they belong to one "
            "generator)",
            "for a DP choice use --privacy strict; or name the generator with --generator",
        )
    from healthforge.selection import Priorities

    priorities = Priorities.from_names(priority)
    store = open_store(None)
    rec, meta = choose(data, privacy, priorities, store, seed)
    best = rec.best
    eps = f" (ε={best.params['epsilon']:g})" if best.params else ""
    err_console.print(f"auto: picked [bold]{best.name}[/]{eps}", highlight=False)
    err_console.print(f"  why: {best.evidence}", highlight=False)
    err_console.print(f"  {rec.explanation.splitlines()[2]}", highlight=False)
    return AutoPick(best.name, meta, store)
