"""``healthforge generators | fit | sample | generate``."""

from __future__ import annotations

import ast
import time
from pathlib import Path
from typing import Any

import typer

from healthforge.cli import backend_options as bk

# duplicates: the command modules import the same shared CLI pieces
from healthforge.cli.common import (
    app,
    console,
    err_console,
    handle_errors,
    parse_drop,
    print_listing,
    progress_bar,
)
from healthforge.data import write_chunks
from healthforge.data.io import check_new_file, check_output_path
from healthforge.data.labels import to_labels
from healthforge.errors import HealthForgeError
from healthforge.generators import describe, generator_names, load_model

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
    rows = []
    for name in generator_names():
        info = describe(name)
        params = ", ".join(f"{k}={v!r}" for k, v in info.params.items() if k != "seed")
        dp = "yes" if info.differential_privacy else "no"
        wide = "yes" if info.high_dimensional else "no"
        rows.append((name, info.family, info.conditioning, dp, wide, params, info.summary))
    columns = ("name", "family", "conditions", "DP", "p >> n", "parameters", "what it does")
    print_listing("Generators (use with --generator NAME)", columns, rows)


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
    from healthforge.pipeline import RunSpec

    check_new_file(save, force)
    spec = RunSpec.from_dict(
        {
            "data": {
                "source": data,
                "schema": str(schema) if schema is not None else None,
                "target": target,
                "drop": parse_drop(drop),
            },
            "generator": {"name": generator, "params": parse_params(param)},
            "seed": seed,
        }
    )
    result = execute_spec(spec, until="fit")
    result.model.save(str(save))
    console.print(f"saved model to {save}")


@app.command("sample")
@handle_errors
def sample(
    model_path: Path = typer.Argument(..., metavar="MODEL", help="Model file from `fit`."),
    rows: int = typer.Option(..., "--rows", "-n", help="Number of rows."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file (.csv, .tsv, .parquet)."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (default: the model's)."),
    condition: list[str] | None = typer.Option(None, "--condition", "-c", help=CONDITION_HELP),
    # duplicates: the backend options are shared objects (backend_options); typer
    # reads each command's options from its own signature, so these lines repeat
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output."),
    backend: str = bk.BACKEND,
    ray_address: str | None = bk.RAY_ADDRESS,
    workers: int | None = bk.WORKERS,
    shard_rows: int = bk.SHARD_ROWS,
    retries: int = bk.RETRIES,
) -> None:
    """Sample rows from a saved model, streamed in chunks (millions of rows are fine).

    An --out without extension is a folder of Parquet shards and a manifest, the same
    bytes with --backend local or ray."""
    _check_rows(rows)
    if not bk.check_sample_output(out, force, backend):
        model = load_model(model_path)
        _write_sample(model, rows, out, seed, condition)
        return
    from healthforge.distributed import sample_to_folder

    executor = bk.make_executor(backend, ray_address, workers, retries)
    model = load_model(model_path)
    started = time.perf_counter()
    with progress_bar() as progress:
        # duplicates: keyword arguments passed through, alike in shape to other commands'
        result = sample_to_folder(
            model,
            rows,
            out,
            seed=seed,
            conditions=condition,
            shard_rows=shard_rows,
            executor=executor,
            progress=progress,
        )
    console.print(
        f"wrote {result.rows:,} synthetic rows to {out}/ as {len(result.shards)} shards "
        f"({backend}) in {time.perf_counter() - started:.1f}s" + _copy_note(result.sample_stats),
        highlight=False,
    )


@app.command("generate")
@handle_errors
def generate(
    data: str = typer.Argument(..., help=DATA_HELP),
    generator: str = typer.Option(
        GENERATE_DEFAULT, "--generator", "-g", help="Generator, or auto (`healthforge recommend`)."
    ),
    priority: list[str] | None = typer.Option(
        None, "--priority", help="With --generator auto: privacy | utility | fidelity | speed."
    ),
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
    # duplicates: typer option declarations, alike in shape across commands
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
    save_spec: Path | None = typer.Option(
        None, "--save-spec", help="Also save the run specification (JSON) for `healthforge run`."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite existing outputs."),
    backend: str = bk.BACKEND,
    ray_address: str | None = bk.RAY_ADDRESS,
    workers: int | None = bk.WORKERS,
    shard_rows: int = bk.SHARD_ROWS,
    retries: int = bk.RETRIES,
    fit_rows: int | None = bk.FIT_ROWS,
) -> None:
    """Fit a generator on DATA and write synthetic rows in one step (optionally evaluated).

    An --out without extension is a folder of Parquet shards and a manifest, the same
    bytes with --backend local or ray."""
    from healthforge.pipeline import RunSpec

    if rows is not None:
        _check_rows(rows)
    partitioned = bk.check_sample_output(out, force, backend)
    evaluate = evaluate or report is not None or json_out is not None
    if evaluate:
        from healthforge.cli.evaluation_commands import check_report_outputs

        check_report_outputs(report, json_out, force)
    if save_spec is not None:
        check_new_file(save_spec, force)
    params = parse_params(param)
    for key, value in (("epsilon", epsilon), ("delta", delta)):
        if value is not None:
            params[key] = value
    if fair_by is None and fair_balance:
        raise HealthForgeError("--fair-balance needs --fair-by COLUMN")
    data_section = {
        "source": data,
        "schema": str(schema) if schema is not None else None,
        "target": target,
        "drop": parse_drop(drop),
        "sample_rows": fit_rows,
    }
    auto = None
    if priority and generator != "auto":
        raise HealthForgeError("--priority applies to --generator auto")
    if generator == "auto":  # the selection policy picks; the spec records its pick
        from healthforge.cli.selection_command import pick_generator

        auto = pick_generator(data_section, privacy, params, seed, priority)
        generator = auto.generator
    spec = RunSpec.from_dict(
        {
            "data": data_section,
            "generator": {
                "name": generator,
                "params": params,
                "default_choice": generator == GENERATE_DEFAULT and auto is None,
                "fair": None
                if fair_by is None
                else {"by": fair_by, "balance": fair_balance, "min_group_rows": fair_min_rows},
            },
            "privacy": privacy,
            "privacy_filter": privacy_filter,
            "conditions": list(condition or []),
            "rows": rows,
            "seed": seed,
            "split": {"holdout_fraction": holdout_fraction},
            "evaluation": {"fairness_by": fairness_by, "from_file": True} if evaluate else None,
            "outputs": {
                "synthetic": str(out),
                "report": str(report) if report is not None else None,
                "json": str(json_out) if json_out is not None else None,
                "labels": labels,
                "stream": not partitioned,
                "partitioned": partitioned,
                "shard_rows": shard_rows,
            },
        }
    )
    if save_spec is not None:
        spec.to_json(save_spec)
        console.print(f"saved the run specification to {save_spec}", highlight=False)
    executor = bk.make_executor(backend, ray_address, workers, retries)
    result = execute_spec(spec, executor=executor)
    if auto is not None or spec.evaluation is not None:  # every evaluated run teaches
        from healthforge.cli.selection_command import learn_from_cli_run

        learn_from_cli_run(result, auto)


def execute_spec(spec: Any, until: str | None = None, executor: Any = None) -> Any:
    """Run a :class:`~healthforge.pipeline.RunSpec` (through step ``until``), printing
    what it does and made; returns the :class:`~healthforge.pipeline.RunResult`.
    ``executor``: where a partitioned output's shards run (default: here)."""
    from healthforge.pipeline import Pipeline

    out = spec.outputs
    pipeline = Pipeline(
        spec, log=lambda line: err_console.print(line, highlight=False), executor=executor
    )
    with progress_bar() as progress:
        pipeline.state.progress = progress
        pipeline.run(until="fit")
    state = pipeline.state
    what = (
        f"{state.generator}, one model per {spec.generator.fair.by},"
        if spec.generator.fair
        else state.generator
    )
    err_console.print(
        f"fitted {what} on {len(state.train):,} rows x {state.train.shape[1]} "
        f"columns in {pipeline.timings['fit']:.1f}s",
        highlight=False,
    )
    if until == "fit":
        return pipeline.result()
    with progress_bar() as progress:
        pipeline.state.progress = progress
        pipeline.run(until="write")
    seconds = pipeline.timings["sample"] + pipeline.timings["write"]
    where = out.synthetic if out.synthetic is not None else "memory"
    written = state.rows_written if state.rows_written is not None else len(state.synthetic)
    result = state.filter_result
    if result is not None:
        console.print(
            f"wrote {written:,} synthetic rows to {where} in {seconds:.1f}s; "
            f"the privacy filter removed {result.removed:,} of {result.rows_in:,} drawn rows "
            f"({result.removed_copies} copies of a real record, {result.removed_too_close} "
            f"closer than the {result.percentile:g}th percentile of holdout distances, "
            f"{result.removed_unique_quasi_identifiers} with a unique quasi-identifier "
            "combination)",
            highlight=False,
        )
    else:
        console.print(
            f"wrote {written:,} synthetic rows to {where} in {seconds:.1f}s"
            + _copy_note(state.model.sample_stats_),
            highlight=False,
        )
    if spec.evaluation is None:
        return pipeline.result()
    from healthforge.cli.evaluation_commands import print_evaluation

    with progress_bar() as progress:
        pipeline.state.progress = progress
        final = pipeline.run()
    for note in final.notes:
        if not note.startswith("privacy filter removed"):
            err_console.print(f"[yellow]note:[/] {note}", highlight=False)
    print_evaluation(final.evaluation.summary, final.report_path, final.json_path)
    return final


def _check_rows(rows: int) -> None:
    if rows <= 0:
        raise HealthForgeError(f"--rows must be at least 1, not {rows}")


@app.command("run")
@handle_errors
def run_spec(
    spec_path: Path = typer.Argument(..., metavar="SPEC", help="Run specification (JSON/YAML)."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing outputs."),
    backend: str = bk.BACKEND,
    ray_address: str | None = bk.RAY_ADDRESS,
    workers: int | None = bk.WORKERS,
    retries: int = bk.RETRIES,
) -> None:
    """Execute a saved run specification (from `generate --save-spec`, a service or a log)."""
    from healthforge.cli.evaluation_commands import check_report_outputs
    from healthforge.pipeline import RunSpec

    if str(spec_path).endswith((".yaml", ".yml")):
        from healthforge.scenarios import load_spec

        spec = load_spec(spec_path)
    else:
        spec = RunSpec.from_json(spec_path)
    out = spec.outputs
    if out.synthetic is None:
        raise HealthForgeError(
            f"run specification '{spec_path}' writes no synthetic rows",
            "set outputs.synthetic to the file to write",
        )
    if out.partitioned:
        bk.check_sample_output(Path(out.synthetic), force, backend)
    elif backend != "local":
        raise HealthForgeError(
            f"--backend {backend} runs the shards of a partitioned output; this "
            "specification writes one file",
            "set outputs.partitioned: true and outputs.synthetic to a folder",
        )
    else:
        check_output_path(Path(out.synthetic), force)
    report, json_out = (Path(p) if p is not None else None for p in (out.report, out.json))
    check_report_outputs(report, json_out, force)
    execute_spec(spec, executor=bk.make_executor(backend, ray_address, workers, retries))
