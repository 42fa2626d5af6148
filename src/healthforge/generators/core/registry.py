"""Generators found by name. Modules are imported on first use, so heavy ones stay cheap."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from dataclasses import dataclass
from typing import Any

from healthforge.errors import HealthForgeError
from healthforge.generators.core.base import Generator

_GENERATORS: dict[str, str] = {
    "independent": "healthforge.generators.statistical.independent:IndependentGenerator",
    "gaussian_copula": "healthforge.generators.statistical.gaussian_copula:GaussianCopulaGenerator",
    "bayesian_network": (
        "healthforge.generators.statistical.bayesian_network:BayesianNetworkGenerator"
    ),
    "cart": "healthforge.generators.tree.cart:CartGenerator",
    "arf": "healthforge.generators.tree.arf:ArfGenerator",
    "aim": "healthforge.generators.private.pgm:AIMGenerator",
    "mst": "healthforge.generators.private.pgm:MSTGenerator",
    "dp_copula": "healthforge.generators.private.copula:DPCopulaGenerator",
    "dpctgan": "healthforge.generators.private.ctgan:DPCtganGenerator",
    "dptvae": "healthforge.generators.private.tvae:DPTvaeGenerator",
    "ctgan": "healthforge.generators.deep.ctgan:CtganGenerator",
    "tvae": "healthforge.generators.deep.tvae:TvaeGenerator",
    "ddpm": "healthforge.generators.deep.ddpm:DdpmGenerator",
    "latent_copula": "healthforge.generators.statistical.latent_copula:LatentCopulaGenerator",
    "ensemble": "healthforge.generators.composite.ensemble:EnsembleGenerator",
    "lm": "healthforge.generators.lm.generator:LmGenerator",
    "llm": "healthforge.generators.llm.generator:LlmGenerator",
}


# Generators that need an optional extra (module it provides, extra name). "All" lists
# (demo --generators all, benchmark without --generators) leave them out when it is missing.
_EXTRAS: dict[str, tuple[str, str]] = {"llm": ("peft", "llm")}


@dataclass(frozen=True)
class GeneratorInfo:
    name: str
    summary: str
    family: str
    data_types: tuple[str, ...]
    conditioning: str
    differential_privacy: bool
    high_dimensional: bool
    params: dict[str, Any]


def register(name: str, target: str) -> None:
    """Add a generator ``"package.module:Class"`` under ``name`` (plugins use this)."""
    _GENERATORS[name] = target


def generator_names(installed_only: bool = False) -> list[str]:
    """Registered names; with ``installed_only``, without those whose extra is missing."""
    return [n for n in _GENERATORS if not (installed_only and missing_extra(n))]


def is_private(name: str, params: dict[str, Any] | None = None) -> bool:
    """Whether generator ``name`` built with ``params`` gives a DP guarantee (its
    instance's ``is_private``: ``lm`` only with ``epsilon``). Decisions use this; the
    class attribute ``differential_privacy`` only says the generator *can* be private."""
    return get_generator(name, **(params or {})).is_private


def private_generator_names() -> list[str]:
    """Names of the generators that can be differentially private (for hints)."""
    names = []
    for name in generator_names(installed_only=True):
        try:
            if generator_class(name).differential_privacy:
                names.append(name)
        except ImportError:  # e.g. torch missing: not offered
            continue
    return names


def missing_extra(name: str) -> str | None:
    """The optional extra generator ``name`` needs and is not installed, else None."""
    module, extra = _EXTRAS.get(name, ("", ""))
    if module and importlib.util.find_spec(module) is None:
        return extra
    return None


def generator_class(name: str) -> type[Generator]:
    if name not in _GENERATORS:
        raise HealthForgeError(
            f"unknown generator '{name}'",
            f"choose one of: {', '.join(_GENERATORS)} (see `healthforge generators`)",
        )
    module_name, class_name = _GENERATORS[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def get_generator(name: str, **params: Any) -> Generator:
    """An unfitted generator ``name`` with constructor ``params``."""
    cls = generator_class(name)
    _check_kinds(name, cls, params)
    try:
        return cls(**params)
    except TypeError as exc:
        raise HealthForgeError(f"bad parameters for generator '{name}': {exc}") from None


def describe(name: str) -> GeneratorInfo:
    cls = generator_class(name)
    instance = cls()
    # duplicates: a record built field by field; alike in shape to other keyword lists
    return GeneratorInfo(
        name=name,
        summary=cls.summary,
        family=cls.family,
        data_types=cls.data_types,
        conditioning=cls.conditioning,
        differential_privacy=cls.differential_privacy,
        high_dimensional=cls.high_dimensional,
        params=instance.get_params(),
    )


def _check_kinds(name: str, cls: type[Generator], params: dict[str, Any]) -> None:
    """Text where a parameter's default is a number or a switch (``--param lr=abc``) is
    refused here in one line, before a generator's own checks meet it as a ValueError."""
    defaults = inspect.signature(cls.__init__).parameters
    for key, value in params.items():
        default = defaults[key].default if key in defaults else None
        if isinstance(value, str) and isinstance(default, bool | int | float):
            kind = "true or false" if isinstance(default, bool) else "a number"
            raise HealthForgeError(
                f"generator '{name}': {key} must be {kind}, not '{value}'",
                f"e.g. --param {key}={default!r}",
            )
