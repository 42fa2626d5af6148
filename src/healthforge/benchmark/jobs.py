"""Run one fit+sample job in a child process and bring back its rows and timings.

Our generators run through ``python -m healthforge.benchmark.worker`` with this
interpreter; peers through ``peer_runner.py`` with their own venv's python. Either way
the child writes its synthetic rows and a small timing JSON; a child that dies, hangs
or refuses is turned into a status with a reason, never an exception.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from healthforge.pipeline import RunSpec

PEER_RUNNER = Path(__file__).with_name("peer_runner.py")


@dataclass
class JobOutcome:
    """What a child process reported: ``status`` and, when ``ok``, rows and timings."""

    status: str
    reason: str = ""
    synthetic: pd.DataFrame | None = None
    timing: dict[str, Any] | None = None


def run_ours(
    spec: RunSpec, workdir: Path, timeout: float, threads: int | None = None
) -> JobOutcome:
    """Run a cell of ours (:func:`healthforge.benchmark.cells.cell_spec`) in a child
    process through 'write' and read back the rows it wrote to ``spec.outputs.synthetic``
    (a parquet file: it keeps our dtypes exactly)."""
    from healthforge.generators import registry

    assert spec.outputs.synthetic is not None  # cell_spec names it
    out = Path(spec.outputs.synthetic)
    slug = out.stem.removeprefix("synthetic_")
    job = {
        "spec": spec.to_dict(),
        # the "module:Class" string, not the class: a generator whose module fails to
        # import must fail in the child (recorded), not in the harness
        "registry_target": registry._GENERATORS.get(spec.generator.name),
        "timing_path": str(workdir / f"timing_{slug}.json"),
    }
    command = [sys.executable, "-m", "healthforge.benchmark.worker"]
    outcome = _run_child(command, job, workdir / f"spec_{slug}.json", timeout, threads)
    if outcome.status == "ok":
        outcome.synthetic = pd.read_parquet(out)
    return outcome


def run_peer(
    library: str,
    method: str,
    python: Path,
    train: pd.DataFrame,
    target: str | None,
    rows: int,
    seed: int,
    epochs: int,
    workdir: Path,
    timeout: float,
    extra: dict[str, Any] | None = None,
    tag: str = "",
    threads: int | None = None,
) -> JobOutcome:
    """Fit and sample a peer method with the peer's own python, via CSV files.

    ``extra`` goes into the spec as is (a DP peer's ``epsilon``, ``delta``, ``domain``)."""
    train_csv = workdir / "train.csv"
    if not train_csv.exists():
        train.to_csv(train_csv, index=False)
    slug = f"{library}_{method}{tag}"
    spec = {
        "library": library,
        "method": method,
        "train_csv": str(train_csv),
        "out_csv": str(workdir / f"synthetic_{slug}.csv"),
        "timing_json": str(workdir / f"timing_{slug}.json"),
        "timing_path": str(workdir / f"timing_{slug}.json"),
        "target": target,
        "rows": rows,
        "seed": seed,
        "epochs": epochs,
        **(extra or {}),
    }
    command = [str(python), str(PEER_RUNNER)]
    outcome = _run_child(command, spec, workdir / f"spec_{slug}.json", timeout, threads)
    if outcome.status == "ok":
        raw = pd.read_csv(spec["out_csv"], keep_default_na=False, na_values=[""])
        outcome.synthetic = like_real(raw, train)
    return outcome


def thread_env(threads: int | None) -> dict[str, str] | None:
    """The environment of a child limited to ``threads`` compute threads (torch, BLAS and
    OpenMP read these at start-up), or ``None`` to inherit ours unchanged."""
    if threads is None:
        return None
    names = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    return {**os.environ, **dict.fromkeys(names, str(threads))}


def _run_child(
    command: list[str],
    spec: dict[str, Any],
    spec_path: Path,
    timeout: float,
    threads: int | None = None,
) -> Any:
    spec_path.write_text(json.dumps(spec, indent=2))
    timing_path = Path(spec["timing_path"])
    timing_path.unlink(missing_ok=True)
    try:
        done = subprocess.run(
            [*command, str(spec_path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=thread_env(threads),
        )
    except subprocess.TimeoutExpired:
        return JobOutcome("timeout", f"timed out after {timeout:.0f} s")
    if done.returncode != 0 or not timing_path.exists():
        lines = [line for line in (done.stderr or "").splitlines() if line.strip()]
        last = lines[-1].strip() if lines else "no message"
        return JobOutcome("failed", f"exit code {done.returncode}: {last}"[:300])
    timing = json.loads(timing_path.read_text())
    status = timing.pop("status", "ok")
    if status != "ok":
        return JobOutcome(status, str(timing.get("reason", "")))
    return JobOutcome("ok", timing=timing)


def like_real(synthetic: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """Give a peer's CSV rows the real table's dtypes, values untouched where possible.

    Numbers stay as the peer produced them (no rounding: unrounded values are part of
    what the detection metric judges); text columns become strings like the real ones.
    """
    # built as a dict: inserting 500 gene columns one by one fragments a frame
    out: dict[str, pd.Series] = {}
    for column in real.columns:
        if column not in synthetic.columns:
            continue  # evaluate() reports the missing column
        values, dtype = synthetic[column], real[column].dtype
        if pd.api.types.is_bool_dtype(dtype):
            text = values.astype(str).str.lower()
            out[column] = text.map({"true": True, "false": False, "1": True, "0": False})
        elif pd.api.types.is_numeric_dtype(dtype):
            numbers = pd.to_numeric(values, errors="coerce")
            whole = numbers.dropna()
            if pd.api.types.is_integer_dtype(dtype) and np.array_equal(whole, whole.round()):
                out[column] = numbers.astype("Int64" if numbers.isna().any() else dtype)
            else:
                out[column] = numbers.astype(float)
        else:
            out[column] = values.astype(dtype) if values.notna().any() else values
    return pd.DataFrame(out, index=synthetic.index).reset_index(drop=True)
