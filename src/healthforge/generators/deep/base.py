"""Shared plumbing of the torch generators (ctgan, tvae, their DP variants).

Lazy networks, pickling without live torch modules, device choice and the CPU softmax
layout used when sampling.
"""

from __future__ import annotations

from typing import Any

from healthforge.errors import HealthForgeError
from healthforge.generators.core.base import Generator
from healthforge.generators.core.torch_support import select_device
from healthforge.generators.deep.spans import SpanLayout

SAMPLE_BATCH = 10_000  # rows per forward pass when sampling


class DeepGenerator(Generator):
    """Shared plumbing of the torch generators: lazy networks, pickling, devices."""

    family = "deep"
    # a network fitted on a few hundred rows cannot learn thousands of columns; the
    # base class refuses p >> n tables with a pointer to generators that can.
    high_dimensional = False

    def __getstate__(self) -> dict[str, Any]:
        # live torch modules and layouts are rebuilt on demand; only CPU tensors pickle
        state = self.__dict__.copy()
        for key in ("_net_cache", "_layout_cache"):
            state.pop(key, None)
        return state

    def _device(self) -> Any:
        try:
            return select_device(self.device)
        except HealthForgeError:
            raise
        except Exception as exc:  # pragma: no cover - torch-specific device errors
            raise HealthForgeError(f"cannot use device '{self.device}': {exc}") from None

    def _layout(self) -> SpanLayout:
        """Padded softmax layout on the CPU (for sampling), built once per object."""
        cached = getattr(self, "_layout_cache", None)
        if cached is None:
            cached = self._layout_cache = SpanLayout(self.transformer_, "cpu")
        return cached
