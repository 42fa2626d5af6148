"""Fitted generators in one versioned file (``.hfm``: a zip with a manifest and the state).

The state is a pickle: load only model files you trust, as with any pickle-based
format (scikit-learn, torch). The manifest is read first, so a file from an
incompatible version is refused with a clear message before anything is unpickled.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from healthforge import __version__
from healthforge.data.io import atomic_path
from healthforge.errors import HealthForgeError

if TYPE_CHECKING:
    from healthforge.generators.base import Generator

FORMAT = "healthforge-model"
FORMAT_VERSION = 1


def save_model(generator: Generator, path: str | Path) -> None:
    """Write a fitted generator to ``path`` atomically."""
    if not generator.fitted:
        raise HealthForgeError("cannot save a generator that is not fitted")
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "healthforge_version": __version__,
        "generator": generator.name,
        "params": {k: repr(v) for k, v in generator.get_params().items()},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows_trained": generator.n_train_,
        "schema": generator.schema_.to_dict(),
        # DP models: mechanism, epsilon, delta, split and accountant; None otherwise
        "dp_budget": getattr(generator, "dp_budget_", None),
    }
    state = pickle.dumps(generator, protocol=pickle.HIGHEST_PROTOCOL)
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, default=str))
        archive.writestr("state.pkl", state)


def read_manifest(path: str | Path) -> dict:
    """The manifest of a model file, checked for format and version."""
    path = Path(path)
    if not path.is_file():
        raise HealthForgeError(f"model file '{path}' does not exist")
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read("manifest.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError):
        raise HealthForgeError(
            f"'{path}' is not a HealthForge model file",
            "create one with `healthforge fit DATA --generator G --save model.hfm`",
        ) from None
    if manifest.get("format") != FORMAT:
        raise HealthForgeError(f"'{path}' is not a HealthForge model file")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise HealthForgeError(
            f"model file '{path}' has format version {version} (written by healthforge "
            f"{manifest.get('healthforge_version')}); this healthforge {__version__} reads "
            f"version {FORMAT_VERSION}",
            "refit the model with this version: `healthforge fit DATA --save MODEL`",
        )
    return manifest


def load_model(path: str | Path) -> Generator:
    """Read a fitted generator written by :func:`save_model`."""
    read_manifest(path)
    with zipfile.ZipFile(path) as archive:
        state = archive.read("state.pkl")
    try:
        return pickle.load(io.BytesIO(state))
    except Exception as exc:
        raise HealthForgeError(
            f"model file '{path}' could not be loaded: {type(exc).__name__}: {exc}",
            "refit the model with this version of healthforge",
        ) from None
