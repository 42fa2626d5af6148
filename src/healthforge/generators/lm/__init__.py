"""The ``lm`` generator: a compact tabular transformer trained from scratch (issue #7)."""

from healthforge.generators.lm.generator import LmGenerator

__all__ = ["LmGenerator"]
