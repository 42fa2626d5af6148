"""Synthetic data generators behind one contract: ``fit(data, schema)``, ``sample(n)``."""

from healthforge.generators.base import Generator
from healthforge.generators.persistence import load_model, read_manifest, save_model
from healthforge.generators.registry import (
    describe,
    generator_class,
    generator_names,
    get_generator,
    register,
)

__all__ = [
    "Generator",
    "describe",
    "generator_class",
    "generator_names",
    "get_generator",
    "load_model",
    "read_manifest",
    "register",
    "save_model",
]
