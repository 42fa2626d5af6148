"""How the benchmark's tables and plots show a value: ``mean ± sd`` text and colours.

Shared by the main report (:mod:`.output`) and the trade-off section (:mod:`.tradeoff`)
so that both format alike, and neither imports the other for it.
"""

from __future__ import annotations

from healthforge.benchmark.records import Stat

PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
    "#7b4173", "#3182bd",
)  # fmt: skip


def fmt_stat(stat: Stat, decimals: int) -> str:
    """``mean ± sd`` to ``decimals`` places; ``—`` when nothing finished."""
    if stat.mean is None:
        return "—"
    text = f"{stat.mean:.{decimals}f}"
    if stat.sd is not None:
        text += f" ± {stat.sd:.{decimals}f}"
    return text


def colour(i: int) -> str:
    """The ``i``-th method's colour (the palette repeats after 16)."""
    return PALETTE[i % len(PALETTE)]
