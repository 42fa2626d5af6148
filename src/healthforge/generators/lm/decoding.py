"""Schema-constrained, batched sampling of token codes from the ``lm`` network.

Rows are written column by column, each row in its own random order (an ensemble of
the orders the network was trained on: one shared order would carry that order's
particular errors into every row); columns
under a condition are written first (the prompt), most restrictive first, and the
schema's prediction target, unless it is under a condition, last: drawn given every
other column, as synthpop's CART draws it, it carries the outcome's dependence on all
of them (on NHEFS, TSTR/TRTR 0.989 against 0.972 with the target anywhere; same fits,
5 draws on each of 3 splits, benchmarks/results/lm.md). Hard rules
learnt from the data (:mod:`.rules`) narrow later columns once a column is written, and
so do order relations between numeric columns (:mod:`.orders`, e.g. years smoked <=
age: whichever of the two comes first bounds the other's tokens). Only
the current column's value tokens can be drawn: the network's logits are gathered at
that column's slots, divided by the temperature, and weighted by the constraint's
token weights (0 = impossible, the share of a bin inside an allowed range at its edge),
then optionally cut to the top-p nucleus. All randomness comes from the numpy generator
passed in, so the same seed gives the same rows on every machine.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from healthforge.generators.core.constraints import EncodedConstraint
from healthforge.generators.core.torch_support import import_torch
from healthforge.generators.lm.orders import OrderBook
from healthforge.generators.lm.rules import RuleBook
from healthforge.generators.lm.ties import TieBook
from healthforge.generators.lm.tokenizer import Tokenizer

SAMPLE_BATCH = 4096  # rows written together; bounds memory of the key/value caches
ORDERS_PER_BATCH = 16  # distinct column orders in a batch (each shared by m / 16 rows)


def column_orders(
    m: int, d: int, first: list[int], rng: np.random.Generator, last: list[int] | None = None
) -> np.ndarray:
    """``(m, d)`` column orders: ``first`` in that order, the rest shuffled, ``last`` last.

    ``ORDERS_PER_BATCH`` orders, each shared by a block of rows (rows are i.i.d., so
    which rows share an order does not matter): nearly the ensemble of one order per
    row, at a fraction of the cost (a step scores one column per order, not per row).
    """
    last = [j for j in (last or []) if j not in first]
    rest = np.array([j for j in range(d) if j not in first and j not in last], dtype=np.int64)
    k = min(ORDERS_PER_BATCH, max(m, 1))
    shuffled = rng.permuted(np.broadcast_to(rest, (k, len(rest))), axis=1)
    head = np.broadcast_to(np.asarray(first, dtype=np.int64), (k, len(first)))
    tail = np.broadcast_to(np.asarray(last, dtype=np.int64), (k, len(last)))
    orders = np.hstack([head, shuffled, tail])
    return orders[np.arange(m) * k // max(m, 1)]


def sample_codes(
    net: Any,
    tokenizer: Tokenizer,
    n: int,
    rng: np.random.Generator,
    constraints: dict[int, EncodedConstraint] | None = None,
    temperature: float = 1.0,
    top_p: float = 1.0,
    rules: RuleBook | None = None,
    bounds: OrderBook | None = None,
    ties: TieBook | None = None,
    last: list[int] | None = None,
    ratios: np.ndarray | None = None,
) -> np.ndarray:
    """Local codes ``(n, d)`` drawn from ``net`` under ``constraints``, ``rules``,
    ``bounds`` (order relations between numeric columns, :mod:`.orders`) and ``ties``
    (a category that puts two numeric columns on a diagonal, :mod:`.ties`).

    Rows are written in many random column orders (the network was trained on all
    orders, so any is valid; :func:`column_orders`), with ``last`` (the prediction
    target) written last unless a constraint puts it first. ``ratios`` ``(d, W)``
    multiply each token's weight (:mod:`.calibration`).
    """
    constraints = constraints or {}
    weights = tokenizer.slot_weights(constraints)  # (d, W), 0 on padding
    if ratios is not None:
        weights = weights * ratios
    # a constraint no token can meet (e.g. a point outside every bin): write the column
    # freely and let the base class's exact row mask reject the rows, as it would anyway
    empty = weights.sum(axis=1) <= 0
    weights[empty] = tokenizer.slot_valid[empty]
    # prompt order: columns with fewest allowed tokens first (equalities are exact prompts)
    first = sorted(constraints, key=lambda j: (int((weights[j] > 0).sum()), j))
    d = tokenizer.n_columns
    torch = import_torch()
    out = []
    with torch.no_grad():
        for start in range(0, n, SAMPLE_BATCH):
            m = min(SAMPLE_BATCH, n - start)
            orders = column_orders(m, d, first, rng, last)
            if ties is not None:
                orders = ties.reorder(orders)
            out.append(
                _write(
                    net, tokenizer, orders, weights, rng, temperature, top_p, rules, bounds, ties
                )
            )
    return np.concatenate(out) if out else np.zeros((0, d), dtype=np.int64)


def _write(
    net: Any,
    tokenizer: Tokenizer,
    orders: np.ndarray,
    weights: np.ndarray,
    rng: np.random.Generator,
    temperature: float,
    top_p: float,
    rules: RuleBook | None,
    bounds: OrderBook | None = None,
    ties: TieBook | None = None,
) -> np.ndarray:
    """Codes ``(m, d)`` of ``m`` rows, row ``i`` written column by column in ``orders[i]``."""
    torch = import_torch()
    m, d = orders.shape
    rows = np.arange(m)
    codes = np.zeros((m, d), dtype=np.int64)
    masked = rules is not None or ties is not None
    allowed = np.repeat((weights > 0)[None], m, axis=0) if masked else None
    written = np.zeros((m, d), dtype=bool)
    # order relations in a mask of their own: where they clash with a rule, the rule wins
    in_order = np.ones((m, d, weights.shape[1]), dtype=bool) if bounds is not None else None
    with np.errstate(divide="ignore"):
        log_w = np.log(weights)  # -inf on padding and on tokens a condition rules out
    slots = torch.as_tensor(tokenizer.slots)
    width = slots.shape[1]
    cache = net.new_cache(m, d)
    prev = torch.full((m,), tokenizer.vocab_size, dtype=torch.long)  # the begin token
    for t in range(d):
        cols = orders[:, t]
        hidden = net.step_hidden(prev, torch.as_tensor(cols), cache, t)
        # rows sharing an order write the same column: score its tokens for them at once
        scores = torch.empty(m, width)
        blocks = np.flatnonzero(np.r_[True, cols[1:] != cols[:-1], True])
        for lo, hi in itertools.pairwise(blocks):
            scores[lo:hi] = net.slot_logits(hidden[lo:hi], slots[int(cols[lo])])
        logits = scores.double().numpy() / temperature + log_w[cols]
        if allowed is not None or in_order is not None:
            ok = allowed[rows, cols] if allowed is not None else weights[cols] > 0
            if in_order is not None:
                both = ok & in_order[rows, cols]
                ok = np.where(both.any(axis=1, keepdims=True), both, ok)
            # rules never override a condition: rows left with nothing follow the condition
            empty = ~ok.any(axis=1)
            ok[empty] = weights[cols[empty]] > 0
            logits = np.where(ok, logits, -np.inf)
        pick = _draw(logits, rng, top_p)
        codes[rows, cols] = pick
        written[rows, cols] = True
        if masked or bounds is not None:
            for j in np.unique(cols):
                at = np.flatnonzero(cols == j)
                if rules is not None:
                    rules.apply(allowed, int(j), pick[at], at)  # type: ignore[arg-type]
                if ties is not None:
                    ties.apply(allowed, int(j), at, codes, written)  # type: ignore[arg-type]
                if bounds is not None:
                    bounds.apply(in_order, int(j), pick[at], at)  # type: ignore[arg-type]
        prev = slots[torch.as_tensor(cols), torch.as_tensor(pick)]
    return codes


def _draw(logits: np.ndarray, rng: np.random.Generator, top_p: float) -> np.ndarray:
    """One token per row from ``logits`` ``(m, W)`` (``-inf`` = impossible)."""
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    if top_p < 1.0:
        probs = _nucleus(probs, top_p)
    cumulative = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cumulative[:, -1]
    pick = (cumulative < u[:, None]).sum(axis=1)
    # never land on an impossible token through rounding at the top of the cumsum
    last_ok = probs.shape[1] - 1 - np.argmax((probs > 0)[:, ::-1], axis=1)
    return np.minimum(pick, last_ok)


def _nucleus(probs: np.ndarray, top_p: float) -> np.ndarray:
    """Keep the smallest set of most likely tokens whose mass reaches ``top_p``."""
    index = np.argsort(-probs, axis=1, kind="stable")
    sorted_p = np.take_along_axis(probs, index, axis=1)
    before = np.cumsum(sorted_p, axis=1) - sorted_p  # mass of strictly likelier tokens
    keep = np.zeros_like(probs, dtype=bool)
    np.put_along_axis(keep, index, before < top_p, axis=1)
    kept = probs * keep
    return kept / kept.sum(axis=1, keepdims=True)
