"""Fitted generators in one versioned file (``.hfm``: a zip with a manifest and the state).

The state is a pickle: load only model files you trust, as with any pickle-based
format (scikit-learn, torch). The manifest is read first, so a file from an
incompatible version is refused with a clear message before anything is unpickled.

A pickle names the module of every class it holds. Files written before the generator
modules moved into family packages name the old flat paths; :data:`MOVED` maps each to
the module(s) that define its names now, so those files load without a module left
behind at the old path.
"""

from __future__ import annotations

import importlib
import io
import json
import pickle
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from healthforge import __version__
from healthforge.data.io import atomic_path
from healthforge.errors import HealthForgeError

if TYPE_CHECKING:
    from healthforge.generators.core.base import Generator

FORMAT = "healthforge-model"
FORMAT_VERSION = 1

_PACKAGE = "healthforge.generators."
# old module (the flat layout, before issue #21) -> the modules that hold its names now,
# searched in order (more than one where a module was split by concept)
MOVED: dict[str, tuple[str, ...]] = {
    _PACKAGE + old: tuple(_PACKAGE + module for module in new)
    for old, new in {
        "base": ("core.base",),
        "registry": ("core.registry",),
        "persistence": ("core.persistence",),
        "conditions": ("core.conditions", "core.constraints", "core.rarity"),
        "column_rules": ("core.column_rules",),
        "marginals": ("core.marginals",),
        "torch_support": ("core.torch_support",),
        "independent": ("statistical.independent",),
        "gaussian_copula": ("statistical.gaussian_copula",),
        "bayesian_network": ("statistical.bayesian_network",),
        "latent": ("statistical.latent_copula",),
        "cart": ("tree.cart",),
        "arf": ("tree.arf",),
        "leaf_donors": ("tree.leaf_donors",),
        "deep_base": ("deep.base",),
        "neural_transform": ("deep.transform", "deep.fidelity", "deep.spans"),
        "adam_kernel": ("deep.adam_kernel",),
        "ctgan": ("deep.ctgan",),
        "ctgan_cond": ("deep.ctgan_cond",),
        "ctgan_critic": ("deep.ctgan_critic",),
        "ctgan_nets": ("deep.ctgan_nets",),
        "tvae": ("deep.tvae",),
        "tvae_fused": ("deep.tvae_fused",),
        "ddpm": ("deep.ddpm",),
        "ddpm_conditions": ("deep.ddpm_conditions",),
        "ddpm_diffusion": ("deep.ddpm_diffusion",),
        "ddpm_net": ("deep.ddpm_net",),
        "dp_base": (
            "private.base",
            "private.discrete",
            "private.domain",
            "private.bounds",
            "private.budget",
            "private.fit",
            "private.public_schema",
        ),
        "dp_copula": ("private.copula",),
        "dp_ctgan": ("private.ctgan",),
        "dp_tvae": ("private.tvae",),
        "dp_deep": ("private.deep",),
        "dp_sgd": ("private.sgd",),
        "private_pgm": ("private.pgm",),
        "pgm_numpy": ("private.pgm_numpy",),
        "ensemble": ("composite.ensemble",),
        "fair": ("composite.fair",),
    }.items()
}


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
        return _Unpickler(io.BytesIO(state)).load()
    except Exception as exc:
        raise HealthForgeError(
            f"model file '{path}' could not be loaded: {type(exc).__name__}: {exc}",
            "refit the model with this version of healthforge",
        ) from None


class _Unpickler(pickle.Unpickler):
    """Finds a class pickled under a module path that has moved (see :data:`MOVED`)."""

    def find_class(self, module: str, name: str) -> Any:
        for new in MOVED.get(module, ()):
            found = importlib.import_module(new)
            if hasattr(found, name):
                return getattr(found, name)
        return super().find_class(module, name)
