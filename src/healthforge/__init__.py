"""HealthForge: synthetic health records that are useful, private and fair.

Heavy dependencies (torch, xgboost, plotly) are imported lazily by the modules
that need them, so ``import healthforge`` and ``healthforge --help`` stay fast.
"""

from healthforge.errors import HealthForgeError

__version__ = "0.1.0"

__all__ = ["HealthForgeError", "__version__"]
