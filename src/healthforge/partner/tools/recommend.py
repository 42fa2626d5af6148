"""Which generators to suggest for a table: the selection policy
(:mod:`healthforge.selection`, as ``healthforge recommend``) when it is installed,
otherwise an interim ranking from the generators' own metadata that says so.

The interim ranking never looks at a row: it reads the table's shape and kinds (rows,
columns, share categorical) and each generator's published properties (DP, wide tables,
conditioning, family). It is a rule of thumb, not learnt evidence.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import pandas as pd

from healthforge.generators import describe, generator_names

# rule-of-thumb order per priority (fast, well-tested generators of this project first)
_ORDER: dict[str, tuple[str, ...]] = {
    "balanced": ("bayesian_network", "cart", "arf", "gaussian_copula", "ensemble", "ctgan"),
    "fidelity": ("cart", "arf", "bayesian_network", "ensemble", "ddpm", "tvae"),
    "utility": ("cart", "ensemble", "arf", "bayesian_network", "ddpm", "ctgan"),
    "privacy": ("aim", "mst", "dp_copula", "bayesian_network", "gaussian_copula"),
    "speed": ("independent", "gaussian_copula", "bayesian_network", "cart", "arf"),
}
_PRIVATE_ORDER = ("aim", "mst", "dp_copula", "dpctgan", "dptvae")
_DEEP = {"ctgan", "tvae", "ddpm", "dpctgan", "dptvae", "latent_copula", "llm", "lm"}


def _selection() -> Any | None:
    """``healthforge.selection.runs.choose`` when that package is installed."""
    if importlib.util.find_spec("healthforge.selection") is None:
        return None
    return importlib.import_module("healthforge.selection.runs").choose


def recommend(
    frame: pd.DataFrame,
    schema: Any,
    preset: str,
    priority: str,
    top: int,
    data: dict[str, Any] | None = None,
    table: pd.DataFrame | None = None,
    store: Any = None,
    seed: int = 0,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``top`` suggestions ``{generator, why, differential_privacy, ...}`` and the method:
    the selection policy on the run's ``data`` section when installed, else the interim
    rule of thumb."""
    choose = _selection()
    if choose is not None and data is not None:
        return _from_selection(choose, data, table, preset, priority, top, store, seed)
    return _interim(frame, schema, preset, priority, top)


def _from_selection(
    choose: Any,
    data: dict[str, Any],
    table: pd.DataFrame | None,
    preset: str,
    priority: str,
    top: int,
    store: Any,
    seed: int,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from healthforge.selection import Priorities

    priorities = Priorities.from_names(None if priority == "balanced" else [priority])
    rec, _meta = choose(data, preset, priorities, store, seed, table=table)
    picked = []
    for choice in rec.ranked[:top]:
        picked.append(
            {
                "generator": choice.name,
                "why": choice.evidence,
                "params": dict(choice.params),
                "expected_fit_seconds": choice.expected_fit_seconds,
                "p_best": round(float(choice.p_best), 3),
                "differential_privacy": bool(describe(choice.name).differential_privacy),
            }
        )
    method = {
        "name": "Bayesian selection with a benchmark prior (healthforge.selection)",
        "note": rec.explanation,
        "uses_private_data": bool(rec.used_private_evaluation),
        "excluded": dict(rec.excluded),
    }
    return picked, method


def _interim(
    frame: pd.DataFrame, schema: Any, preset: str, priority: str, top: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows = len(frame)
    modelled = schema.modelled
    wide = len(modelled) > rows
    share_cat = sum(c.is_discrete for c in modelled) / max(len(modelled), 1)
    order = list(_PRIVATE_ORDER if preset == "strict" else _ORDER[priority])
    order += [n for n in generator_names(installed_only=True) if n not in order]
    picked: list[dict[str, Any]] = []
    for name in order:
        try:
            info = describe(name)
        except (ImportError, Exception):
            continue
        if preset == "strict" and not info.differential_privacy:
            continue
        if wide and not info.high_dimensional:
            continue
        if name in _DEEP and rows < 1000 and priority != "fidelity":
            continue  # deep models need more rows than this to beat simpler ones
        why = [info.summary.rstrip(".")]
        if info.differential_privacy:
            why.append("differentially private")
        if info.conditioning == "native":
            why.append("conditions natively")
        if name in _DEEP:
            why.append("a neural network: minutes to fit on 2 cores")
        picked.append(
            {
                "generator": name,
                "why": "; ".join(why),
                "family": info.family,
                "differential_privacy": info.differential_privacy,
            }
        )
        if len(picked) == top:
            break
    method = {
        "name": "interim rule of thumb",
        "note": (
            "This ranking is a rule of thumb from each generator's properties and the "
            f"table's shape ({rows:,} rows, {len(modelled)} modelled columns, "
            f"{share_cat:.0%} categorical), not learnt from past runs: the learning "
            "recommender (healthforge.selection) is not installed yet."
        ),
        "uses_private_data": False,
    }
    return picked, method
