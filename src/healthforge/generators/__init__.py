"""Synthetic data generators behind one contract: ``fit(data, schema)``, ``sample(n)``.

The families, one sub-package each: ``core`` (the contract, registry, persistence,
conditions, column rules, shared marginals, torch support), ``statistical``, ``tree``,
``deep``, ``private`` (differential privacy), ``lm``, ``llm`` and ``composite``
(ensemble, fair). Code outside ``generators`` imports only the names below.
"""

from healthforge.generators.composite.fair import FairGenerator
from healthforge.generators.core import base, conditions, registry
from healthforge.generators.core.base import CHUNK_ROWS, Generator
from healthforge.generators.core.persistence import load_model, read_manifest, save_model
from healthforge.generators.core.registry import (
    describe,
    generator_class,
    generator_names,
    get_generator,
    is_private,
    missing_extra,
    private_generator_names,
    register,
)
from healthforge.generators.private.public_schema import conform_to_schema

__all__ = [
    "CHUNK_ROWS",
    "FairGenerator",
    "Generator",
    "base",
    "conditions",
    "conform_to_schema",
    "describe",
    "generator_class",
    "generator_names",
    "get_generator",
    "is_private",
    "load_model",
    "missing_extra",
    "private_generator_names",
    "read_manifest",
    "register",
    "registry",
    "save_model",
]
