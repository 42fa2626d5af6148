"""Fit one peer method on a CSV and write its synthetic CSV plus a timing JSON.

A standalone script, run with a peer's own python (``.peers/<name>/venv/bin/python``):
it imports nothing from healthforge, so the peer's pins never meet ours. Usage::

    python peer_runner.py spec.json

``spec.json`` holds ``library`` ("sdv", "synthcity", "smartnoise" or "great"), ``method``,
``train_csv``, ``out_csv``, ``timing_json``, ``rows``, ``seed``, ``epochs`` and ``target`` (DP peers
also ``epsilon``, ``delta`` and the public ``domain``). The harness
then evaluates ``out_csv`` with healthforge's own evaluation, as for every generator.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import resource
import sys
import time
from typing import Any

import numpy as np
import pandas as pd

MISSING_LEVEL = "__healthforge_missing__"
INDICATOR = "__missing__"


def read_csv(path: str) -> pd.DataFrame:
    # only empty cells are missing: R's level "None" (icu coma) must stay a category
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def _status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return None


def reset_peak() -> float:
    """Reset the kernel's peak-RSS mark (Linux: clear_refs 5) so the peak read later
    covers fit+sample only, not imports; returns the resident MB at this point."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass
    return _status_mb("VmRSS") or peak_rss_mb()


def peak_rss_mb() -> float:
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:
        pass


def fill_missing(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """synthcity's plugins fail on NaN: numeric gaps become median + a 0/1 indicator
    column, text gaps a level of their own; :func:`restore_missing` undoes both."""
    out = df.copy()
    kinds: dict[str, str] = {}
    for column in df.columns:
        gaps = df[column].isna()
        if not gaps.any():
            continue
        if pd.api.types.is_numeric_dtype(df[column]):
            out[column] = df[column].fillna(df[column].median())
            out[INDICATOR + column] = gaps.astype(int)
            kinds[column] = "numeric"
        else:
            out[column] = df[column].astype(object).where(~gaps, MISSING_LEVEL)
            kinds[column] = "text"
    return out, kinds


def restore_missing(df: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    out = df.copy()
    for column, kind in kinds.items():
        if kind == "numeric":
            flag = pd.to_numeric(out.pop(INDICATOR + column), errors="coerce") > 0.5
            out.loc[flag, column] = np.nan
        else:
            out[column] = out[column].where(out[column].astype(str) != MISSING_LEVEL)
    return out


def make_sdv(method: str, train: pd.DataFrame, spec: dict[str, Any]) -> Any:
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer, TVAESynthesizer

    # SDV 2.0's metadata API: detection goes through a dict of named tables
    detect = getattr(Metadata, "detect_from_dataframes", None)
    if detect is not None:
        metadata = detect({"table": train})
    else:  # SDV 1.x
        metadata = Metadata.detect_from_dataframe(train)
    if method == "gaussian_copula":
        return GaussianCopulaSynthesizer(metadata)
    if method == "ctgan":
        return CTGANSynthesizer(metadata, epochs=spec["epochs"], enable_gpu=False)
    if method == "tvae":
        return TVAESynthesizer(metadata, epochs=spec["epochs"], enable_gpu=False)
    raise ValueError(f"unknown SDV method {method}")


def _takes_dict() -> bool:
    import sdv

    return int(sdv.__version__.split(".")[0]) >= 2


def run_sdv(method: str, train: pd.DataFrame, spec: dict[str, Any]) -> tuple[Any, float, float]:
    model = make_sdv(method, train, spec)
    # SDV 2.0 takes and returns {table name: DataFrame}; 1.x plain DataFrames
    sdv2 = _takes_dict()
    started = time.perf_counter()
    model.fit({"table": train} if sdv2 else train)
    fitted = time.perf_counter()
    synthetic = model.sample(num_rows=spec["rows"])
    if isinstance(synthetic, dict):
        synthetic = next(iter(synthetic.values()))
    return synthetic, fitted - started, time.perf_counter() - fitted


SYNTHCITY_ITERATIONS = {"ctgan", "tvae", "ddpm", "rtvae", "nflow"}


def run_synthcity(
    method: str, train: pd.DataFrame, spec: dict[str, Any]
) -> tuple[Any, float, float]:
    from synthcity.plugins import Plugins
    from synthcity.plugins.core.dataloader import GenericDataLoader

    filled, kinds = fill_missing(train)
    params: dict[str, Any] = {"random_state": spec["seed"]}
    if method in SYNTHCITY_ITERATIONS:
        params["n_iter"] = spec["epochs"]
    if method == "ddpm" and spec.get("target"):
        params["is_classification"] = True
    model = Plugins().get(method, **params)
    loader = GenericDataLoader(filled, target_column=spec.get("target"))
    started = time.perf_counter()
    model.fit(loader)
    fitted = time.perf_counter()
    synthetic = model.generate(count=spec["rows"]).dataframe()
    sampled = time.perf_counter()
    return (
        restore_missing(synthetic, kinds)[list(train.columns)],
        fitted - started,
        sampled - fitted,
    )


def run_smartnoise(
    method: str, train: pd.DataFrame, spec: dict[str, Any]
) -> tuple[Any, float, float]:
    """smartnoise-synth's MST at ``spec["epsilon"]`` with the same public domain our DP
    generators get: ``spec["domain"]`` maps each column to its public bounds (numbers,
    10 equal bins as ours) or to ``None`` (a category list, taken as public)."""
    from snsynth import Synthesizer
    from snsynth.transform import BinTransformer, LabelTransformer, TableTransformer

    domain = spec.get("domain") or {}
    columns = [c for c in train.columns if c in domain]
    frame = train[columns].copy()
    transformers = []
    for column in columns:
        bounds = domain[column]
        if bounds is None:
            # text levels; booleans as text so the label set is the same in and out
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
            transformers.append(LabelTransformer(nullable=True))
        else:
            lower, upper = float(bounds[0]), float(bounds[1])
            frame[column] = pd.to_numeric(frame[column], errors="coerce").clip(lower, upper)
            transformers.append(BinTransformer(bins=10, lower=lower, upper=upper, nullable=True))
    model = Synthesizer.create(method, epsilon=float(spec["epsilon"]), delta=float(spec["delta"]))
    started = time.perf_counter()
    model.fit(frame, transformer=TableTransformer(transformers))
    fitted = time.perf_counter()
    synthetic = model.sample(spec["rows"])
    sampled = time.perf_counter()
    return pd.DataFrame(synthetic, columns=columns), fitted - started, sampled - fitted


GREAT_EPOCHS = 3  # GReaT on a CPU: a few epochs, not the GAN/VAE --peer-epochs
GREAT_BATCH = 8


def great_model_dir(spec: dict[str, Any], workdir: str) -> str:
    """A folder GReaT can load offline: ``spec["llm"]``, or else the Gemma 3 270M that
    healthforge's ``llm`` generator converted from its GGUF (newest under
    ``$HEALTHFORGE_CACHE`` or ``~/.cache/healthforge/llm``, weights and tokenizer in two
    subfolders, linked here into one as ``from_pretrained`` wants)."""
    from pathlib import Path

    if spec.get("llm"):
        return str(spec["llm"])
    root = Path(os.environ.get("HEALTHFORGE_CACHE") or Path.home() / ".cache/healthforge") / "llm"
    found = sorted(root.glob("*/model/config.json"), key=lambda p: p.stat().st_mtime)
    found = [p.parent for p in found if (p.parent.parent / "tokenizer").is_dir()]
    if not found:
        raise FileNotFoundError(
            f"no converted model under {root}: fit healthforge's llm generator once "
            "(it converts the Gemma 3 270M GGUF), or give spec['llm'] a model folder"
        )
    joined = Path(workdir) / "great_model"
    joined.mkdir(exist_ok=True)
    for part in (found[-1], found[-1].parent / "tokenizer"):
        for item in part.iterdir():
            link = joined / item.name
            if not link.exists():
                link.symlink_to(item.resolve())
    return str(joined)


def run_great(method: str, train: pd.DataFrame, spec: dict[str, Any]) -> tuple[Any, float, float]:
    """GReaT (be-great) with LoRA on a local model, never the hub.

    CPU budget: ``great_epochs`` epochs (default: the harness's peer epochs, at most 3) of
    batches of 8, LoRA at GReaT's own
    defaults (rank 16), and the learning-rate schedule of our ``llm`` (peak
    ``great_lr`` 3e-3, 10% warmup, cosine): the Trainer's default 5e-5 is meant for
    full fine-tuning over many epochs and learns nearly nothing in a hundred LoRA steps.
    Sampling uses GReaT's defaults (temperature 0.7, rows that do not parse are redrawn)
    and writes at most ``len(train)`` rows - the rows the harness evaluates - because its
    unconstrained decoding takes seconds per row on a CPU; the harness scales the time to
    10,000 rows from ``rows_sampled``.
    """
    import tempfile

    import torch
    from be_great import GReaT

    threads = os.environ.get("OMP_NUM_THREADS")
    if threads:
        torch.set_num_threads(int(threads))
    workdir = os.path.dirname(os.path.abspath(spec["out_csv"]))
    settings = {
        "epochs": int(
            spec.get("great_epochs") or min(int(spec.get("epochs") or GREAT_EPOCHS), GREAT_EPOCHS)
        ),
        "batch_size": GREAT_BATCH,
        "learning_rate": float(spec.get("great_lr", 3e-3)),
    }
    spec["settings"] = {**settings, "efficient_finetuning": "lora", "lr": "warmup 10%, cosine"}
    with tempfile.TemporaryDirectory(dir=workdir) as checkpoints:
        model = GReaT(
            great_model_dir(spec, workdir),
            experiment_dir=checkpoints,
            epochs=settings["epochs"],
            batch_size=settings["batch_size"],
            efficient_finetuning="lora",
            learning_rate=settings["learning_rate"],
            lr_scheduler_type="cosine",
            warmup_steps=0.1,  # a share of the steps (transformers 5)
            weight_decay=0.0,
            save_strategy="no",
            logging_steps=10,
            use_cpu=not torch.cuda.is_available(),
            seed=int(spec["seed"]),
        )
        started = time.perf_counter()
        model.fit(train)
        fitted = time.perf_counter()
        synthetic = model.sample(n_samples=min(int(spec["rows"]), len(train)), device="cpu")
        sampled = time.perf_counter()
    return synthetic[list(train.columns)], fitted - started, sampled - fitted


def versions(library: str) -> dict[str, str]:
    import importlib.metadata as md

    found = {"python": sys.version.split()[0]}
    package = {"smartnoise": "smartnoise-synth", "great": "be-great"}.get(library, library)
    for name in (package, "mbi", "jax", "torch", "transformers", "peft", "numpy", "pandas"):
        with contextlib.suppress(md.PackageNotFoundError):
            found[name] = md.version(name)
    return found


def main(spec_path: str) -> None:
    with open(spec_path) as handle:
        spec = json.load(handle)
    train = read_csv(spec["train_csv"])
    seed_everything(int(spec["seed"]))
    runner = {
        "sdv": run_sdv,
        "synthcity": run_synthcity,
        "smartnoise": run_smartnoise,
        "great": run_great,
    }[spec["library"]]
    if spec["library"] == "great":  # before transformers is imported: never the hub
        os.environ["HF_HUB_OFFLINE"] = os.environ["TRANSFORMERS_OFFLINE"] = "1"
    # import the library before the baseline, so the peak covers fit+sample, not imports
    modules = {
        "sdv": "sdv.single_table",
        "synthcity": "synthcity.plugins",
        "smartnoise": "snsynth",
        "great": "be_great",
    }
    __import__(modules[spec["library"]])
    baseline = reset_peak()
    synthetic, fit_seconds, sample_seconds = runner(spec["method"], train, spec)
    synthetic.to_csv(spec["out_csv"], index=False)
    timing = {
        "fit_seconds": fit_seconds,
        "sample_seconds": sample_seconds,
        "rows_sampled": len(synthetic),
        "baseline_rss_mb": baseline,
        "peak_rss_mb": peak_rss_mb(),
        "versions": versions(spec["library"]),
        **({"settings": spec["settings"]} if "settings" in spec else {}),
    }
    with open(spec["timing_json"], "w") as handle:
        json.dump(timing, handle, indent=2)


if __name__ == "__main__":
    main(sys.argv[1])
