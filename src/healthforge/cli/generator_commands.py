"""``healthforge generators | fit | sample | generate``."""

from __future__ import annotations

import ast
import time
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from healthforge.cli.common import (
    app,
    console,
    err_console,
    handle_errors,
    load_schema,
    parse_drop,
    progress_bar,
)
from healthforge.data import PreparedData, load_table, prepare, write_chunks
from healthforge.data.bundled import default_target
from healthforge.data.io import check_new_file, check_output_path
from healthforge.data.labels import from_labels, to_labels
from healthforge.errors import HealthForgeError
from healthforge.generators import describe, generator_names, get_generator, load_model
from healthforge.generators.conditions import parse_conditions, resolve
from healthforge.generators.registry import private_generator_names

DATA_HELP = "A CSV/TSV/Parquet/Excel file, or bundled:NAME (see `healthforge datasets list`)."
CONDITION_HELP = (
    "Condition every row satisfies, e.g. 'sex=female', 'age>=65', 'race in [a, b]'; "
    "a coded column takes its code or its label."
)
EVALUATE_HELP = (
    "Hold out part of DATA (seeded, stratified on the target), fit on the rest and evaluate "
    "the synthetic rows against the held-out rows."
)
GENERATE_DEFAULT = "bayesian_network"
PARAM_HELP = "Generator parameter NAME=VALUE (see `healthforge generators`); repeatable."


@app.command("generators")
@handle_errors
def generators() -> None:
    """List the generators with what they handle."""
    table = Table(title="Generators (use with --generator NAME)")
    for column in ("name", "family", "conditions", "DP", "p >> n", "parameters", "what it does"):
        table.add_column(column)
    for name in generator_names():
        info = describe(name)
        params = ", ".join(f"{k}={v!r}" for k, v in info.params.items() if k != "seed")
        table.add_row(
            name,
            info.family,
            info.conditioning,
            "yes" if info.differential_privacy else "no",
            "yes" if info.high_dimensional else "no",
            params,
            info.summary,
        )
    console.print(table)


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """``["max_parents=2", "alpha=0.5"]`` as ``{"max_parents": 2, "alpha": 0.5}``."""
    params: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise HealthForgeError(f"cannot read --param '{item}'", "write it as NAME=VALUE")
        words = {"true": True, "false": False, "none": None, "null": None}
        if raw.strip().lower() in words:  # shell spellings: the string "false" is truthy
            params[key.strip()] = words[raw.strip().lower()]
            continue
        try:
            params[key.strip()] = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            params[key.strip()] = raw.strip()
    return params


def _prepare(
    data: str,
    schema: Path | None,
    target: str | None,
    drop: list[str] | None,
    conditions: list[str] | None = None,
    conform: bool = False,
) -> PreparedData:
    df, user_schema = load_table(data), load_schema(schema)
    if conform and user_schema is not None:
        # a DP generator treats the user's schema as public: values outside it are
        # clipped or made missing instead of refused, and never added to the domain
        from healthforge.generators.dp_base import conform_to_schema

        df = conform_to_schema(df, user_schema)
    if target is None:  # a bundled dataset's outcome is known; a user's schema wins
        target = default_target(data, user_schema.target if user_schema else None)
    prepared = prepare(df, user_schema, target, parse_drop(drop), source=data)
    for line in prepared.notices():
        err_console.print(f"[yellow]{line}[/]", highlight=False)
    # an impossible condition should fail before minutes of fitting, not after
    resolve(parse_conditions(conditions), prepared.schema)
    return prepared


def _fit(
    prepared: PreparedData,
    generator: str,
    seed: int,
    params: list[str] | dict[str, Any] | None,
    public_schema: bool = False,
    fair: dict[str, Any] | None = None,
) -> Any:
    params = params if isinstance(params, dict) else parse_params(params)
    if fair:  # one model of `generator` per group of fair["fair_by"]
        from healthforge.generators.fair import FairGenerator

        model: Any = FairGenerator(base=generator, params=params, seed=seed, **fair)
    else:
        model = get_generator(generator, seed=seed, **params)
    started = time.perf_counter()
    with progress_bar() as progress:
        if public_schema:  # a DP generator: the user's schema is public knowledge
            model.fit(prepared.frame, prepared.schema, progress=progress)
        else:
            model.fit(prepared, progress=progress)
    what = f"{generator}, one model per {fair['fair_by']}," if fair else generator
    err_console.print(
        f"fitted {what} on {len(prepared.frame):,} rows x {prepared.frame.shape[1]} "
        f"columns in {time.perf_counter() - started:.1f}s",
        highlight=False,
    )
    return model


def _write_sample(
    model: Any,
    rows: int,
    out: Path,
    seed: int | None,
    conditions: list[str] | None,
    labels: bool = False,
) -> None:
    started = time.perf_counter()
    with progress_bar() as progress:
        chunks = model.sample_chunks(rows, seed=seed, conditions=conditions, progress=progress)
        if labels:  # value labels instead of codes (sex: female, not 1)
            chunks = (to_labels(chunk, model.schema_) for chunk in chunks)
        written = write_chunks(chunks, out)
    console.print(
        f"wrote {written:,} synthetic rows to {out} in {time.perf_counter() - started:.1f}s"
        + _copy_note(model.sample_stats_),
        highlight=False,
    )


def _copy_note(stats: dict[str, Any]) -> str:
    """What the copy guard did, in one plain sentence (empty when it had nothing to do)."""
    from healthforge.generators import base

    rare, common = stats.get("rejected_copies", 0), stats.get("kept_common_matches")
    k = base.RARE_PATTERN_K
    held = "a unique training row" if k == 2 else f"a row fewer than {k} training rows share"
    parts = []
    if rare:
        parts.append(f"{rare} draws copying {held} were redrawn")
    if common:
        # a pattern many patients share singles no one out; redrawing it would bias the data
        parts.append(f"{common} rows equal to a pattern shared by several training rows kept")
    return f" ({'; '.join(parts)})" if parts else ""


@app.command("fit")
@handle_errors
def fit(
    data: str = typer.Argument(..., help=DATA_HELP),
    generator: str = typer.Option("bayesian_network", "--generator", "-g", help="Generator."),
    save: Path = typer.Option(..., "--save", help="Model file to write (.hfm)."),
    schema: Path | None = typer.Option(None, "--schema", help="Schema file (YAML/JSON)."),
    target: str | None = typer.Option(None, "--target", help="Outcome column."),
    drop: list[str] | None = typer.Option(None, "--drop", help="Columns to leave out."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    param: list[str] | None = typer.Option(None, "--param", help=PARAM_HELP),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing model file."),
) -> None:
    """Fit a generator and save it to one file for `healthforge sample`."""
    check_new_file(save, force)
    get_generator(generator, **parse_params(param))  # unknown names fail before loading data
    public = schema is not None and describe(generator).differential_privacy
    model = _fit(
        _prepare(data, schema, target, drop, conform=public), generator, seed, param, public
    )
    model.save(str(save))
    console.print(f"saved model to {save}")


@app.command("sample")
@handle_errors
def sample(
    model_path: Path = typer.Argument(..., metavar="MODEL", help="Model file from `fit`."),
    rows: int = typer.Option(..., "--rows", "-n", help="Number of rows."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file (.csv, .tsv, .parquet)."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (default: the model's)."),
    condition: list[str] | None = typer.Option(None, "--condition", "-c", help=CONDITION_HELP),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output."),
) -> None:
    """Sample rows from a saved model, streamed in chunks (millions of rows are fine)."""
    _check_rows(rows)
    check_output_path(out, force)
    model = load_model(model_path)
    _write_sample(model, rows, out, seed, condition)


@app.command("generate")
@handle_errors
def generate(
    data: str = typer.Argument(..., help=DATA_HELP),
    generator: str = typer.Option(GENERATE_DEFAULT, "--generator", "-g", help="Generator."),
    rows: int | None = typer.Option(None, "--rows", "-n", help="Rows (default: as many as real)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file (.csv, .tsv, .parquet)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    schema: Path | None = typer.Option(None, "--schema", help="Schema file (YAML/JSON)."),
    target: str | None = typer.Option(None, "--target", help="Outcome column."),
    drop: list[str] | None = typer.Option(None, "--drop", help="Columns to leave out."),
    condition: list[str] | None = typer.Option(None, "--condition", "-c", help=CONDITION_HELP),
    param: list[str] | None = typer.Option(None, "--param", help=PARAM_HELP),
    evaluate: bool = typer.Option(False, "--evaluate", help=EVALUATE_HELP),
    holdout_fraction: float = typer.Option(
        0.2, "--holdout-fraction", help="Share of DATA held out with --evaluate."
    ),
    fairness_by: str | None = typer.Option(
        None, "--fairness-by", help="With --evaluate: also measure per group of this column."
    ),
    report: Path | None = typer.Option(None, "--report", help="HTML report (implies --evaluate)."),
    json_out: Path | None = typer.Option(None, "--json", help="JSON summary (implies --evaluate)."),
    privacy: str = typer.Option(
        "none", "--privacy", help="Preset: none | standard (filter) | strict (DP ε ≤ 1 + filter)."
    ),
    privacy_filter: bool = typer.Option(
        False, "--privacy-filter", help="Drop rows that copy or sit too close to a real record."
    ),
    epsilon: float | None = typer.Option(None, "--epsilon", help="DP budget ε (DP generators)."),
    delta: float | None = typer.Option(None, "--delta", help="DP δ (default below 1/n)."),
    labels: bool = typer.Option(
        False, "--labels", help="Write value labels (sex: female) instead of codes (1)."
    ),
    fair_by: str | None = typer.Option(
        None, "--fair-by", help="Fairness-aware: fit one generator per group of this column."
    ),
    fair_balance: bool = typer.Option(
        False, "--fair-balance", help="With --fair-by: equal rows per group, not real shares."
    ),
    fair_min_rows: int = typer.Option(
        20, "--fair-min-rows", help="With --fair-by: refuse groups with fewer training rows."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite existing outputs."),
) -> None:
    """Fit a generator on DATA and write synthetic rows in one step (optionally evaluated)."""
    if rows is not None:
        _check_rows(rows)
    check_output_path(out, force)
    evaluate = evaluate or report is not None or json_out is not None
    if evaluate:
        from healthforge.cli.evaluation_commands import check_report_outputs

        check_report_outputs(report, json_out, force)
    plan = _privacy_plan(privacy, generator, param, epsilon, delta, schema)
    generator, params = plan.generator, plan.params
    get_generator(generator, **params)  # unknown names fail before loading data
    public = schema is not None and describe(generator).differential_privacy
    fair = _fair_options(fair_by, fair_balance, fair_min_rows, generator)
    prepared = _prepare(data, schema, target, drop, condition, conform=public)
    if fair_by is not None and fair_by not in prepared.schema.modelled_names:
        raise HealthForgeError(
            f"--fair-by column '{fair_by}' is not a modelled column",
            f"columns are: {', '.join(prepared.schema.modelled_names[:25])}",
        )
    use_filter = plan.privacy_filter or privacy_filter
    if not evaluate and not use_filter:
        model = _fit(prepared, generator, seed, params, public, fair)
        _write_sample(model, rows or model.n_train_, out, seed, condition, labels)
        return
    from healthforge.evaluation import split_train_holdout

    schema_obj = prepared.schema
    if fairness_by is not None and fairness_by not in schema_obj.modelled_names:
        raise HealthForgeError(f"--fairness-by column '{fairness_by}' is not a modelled column")
    train, holdout = split_train_holdout(
        prepared.frame, schema_obj.target, holdout_fraction=holdout_fraction, seed=seed
    )
    err_console.print(
        f"holding out {len(holdout):,} of {len(prepared.frame):,} rows (seed {seed}"
        + (f", stratified on {schema_obj.target}" if schema_obj.target else "")
        + "): the generator never sees them; they judge utility and privacy",
        highlight=False,
    )
    model = _fit(
        PreparedData(train, schema_obj, prepared.excluded), generator, seed, params, public, fair
    )
    if use_filter:
        n_rows = rows or len(prepared.frame)
        _write_filtered(model, train, holdout, schema_obj, n_rows, out, seed, condition, labels)
    else:
        _write_sample(model, rows or model.n_train_, out, seed, condition, labels)
    if evaluate:
        _evaluate_written(model, train, holdout, out, fairness_by, seed, report, json_out)


def _fair_options(
    fair_by: str | None, balance: bool, min_rows: int, generator: str
) -> dict[str, Any] | None:
    """FairGenerator options of ``--fair-by``; ``None`` without it."""
    if fair_by is None:
        if balance:
            raise HealthForgeError("--fair-balance needs --fair-by COLUMN")
        return None
    if describe(generator).differential_privacy:
        # one DP model per group would need a per-group budget this wrapper does not account
        raise HealthForgeError(
            f"--fair-by does not wrap the differentially private generator '{generator}'",
            "drop --fair-by, or use a non-DP generator such as cart or bayesian_network",
        )
    if min_rows < 2:
        raise HealthForgeError(f"--fair-min-rows must be at least 2, not {min_rows}")
    return {"fair_by": fair_by, "balance": balance, "min_group_rows": min_rows}


def _privacy_plan(
    preset: str,
    generator: str,
    param: list[str] | None,
    epsilon: float | None,
    delta: float | None,
    schema: Path | None,
) -> Any:
    """Generator, parameters and filter choice of ``--privacy`` and the DP options."""
    from healthforge.privacy.presets import resolve_preset

    params = parse_params(param)
    for key, value in (("epsilon", epsilon), ("delta", delta)):
        if value is not None:
            params[key] = value
    # the option's default generator is not a user choice a strict preset must refuse
    chosen = None if generator == GENERATE_DEFAULT and preset == "strict" else generator
    plan = resolve_preset(preset, chosen, params)
    if plan.needs_schema and schema is None:
        raise HealthForgeError(
            "--privacy strict needs --schema with public minimum/maximum for numeric columns",
            "write one with `healthforge profile DATA --schema-out schema.yaml` and set the "
            "bounds from domain knowledge, not from the data",
        )
    if (epsilon is not None or delta is not None) and not describe(
        plan.generator
    ).differential_privacy:
        raise HealthForgeError(
            f"--epsilon/--delta apply to DP generators; '{plan.generator}' is not one",
            f"use --generator {' | '.join(private_generator_names())}",
        )
    return plan


def _write_filtered(
    model: Any,
    train: Any,
    holdout: Any,
    schema: Any,
    rows: int,
    out: Path,
    seed: int,
    conditions: list[str] | None,
    labels: bool = False,
) -> None:
    """Sample ``rows`` that pass the privacy filter (threshold from the holdout rows)."""
    from healthforge.privacy.filter import PrivacyFilter, filtered_sample

    started = time.perf_counter()
    guard = PrivacyFilter(train, holdout, schema)
    frame, result = filtered_sample(model, rows, guard, seed=seed, conditions=conditions)
    write_chunks(iter([to_labels(frame, schema) if labels else frame]), out)
    console.print(
        f"wrote {len(frame):,} synthetic rows to {out} in {time.perf_counter() - started:.1f}s; "
        f"the privacy filter removed {result.removed:,} of {result.rows_in:,} drawn rows "
        f"({result.removed_copies} copies of a real record, {result.removed_too_close} closer "
        f"than the {result.percentile:g}th percentile of holdout distances, "
        f"{result.removed_unique_quasi_identifiers} with a unique quasi-identifier combination)",
        highlight=False,
    )


def _evaluate_written(
    model: Any,
    train: Any,
    holdout: Any,
    out: Path,
    fairness_by: str | None,
    seed: int,
    report: Path | None,
    json_out: Path | None,
) -> None:
    from healthforge.cli.evaluation_commands import print_evaluation
    from healthforge.evaluation import evaluate

    # a file written with --labels is read back as codes, as the model knows them
    synthetic = from_labels(load_table(out), model.schema_)
    with progress_bar() as progress:
        result = evaluate(
            train,
            synthetic,
            holdout=holdout,
            schema=model.schema_,
            target=model.schema_.target,
            fairness_by=fairness_by,
            seed=seed,
            progress=progress,
            dp_budget=getattr(model, "dp_budget_", None),
        )
    if json_out is not None:
        result.to_json(json_out)
    if report is not None:
        from healthforge.evaluation.report import write_report

        write_report(result, report, train, synthetic, holdout, title=f"{model.name} on {out.name}")
    print_evaluation(result.summary, report, json_out)


def _check_rows(rows: int) -> None:
    if rows <= 0:
        raise HealthForgeError(f"--rows must be at least 1, not {rows}")
