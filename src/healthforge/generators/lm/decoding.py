"""Schema-constrained, batched sampling of token codes from the ``lm`` network.

Each row is written column by column in its own random order; columns under a
condition are written first (the prompt), most restrictive first. At every step only
the current column's value tokens can be drawn: the network's logits are gathered at
that column's slots, divided by the temperature, and weighted by the constraint's
token weights (0 = impossible, the share of a bin inside an allowed range at its edge),
then optionally cut to the top-p nucleus. All randomness comes from the numpy generator
passed in, so the same seed gives the same rows on every machine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from healthforge.generators.conditions import EncodedConstraint
from healthforge.generators.lm.tokenizer import Tokenizer
from healthforge.generators.torch_support import import_torch

SAMPLE_BATCH = 4096  # rows written together; bounds memory of the key/value caches


def column_orders(n: int, d: int, first: list[int], rng: np.random.Generator) -> np.ndarray:
    """``(n, d)`` column orders: ``first`` in that order, then the rest shuffled per row."""
    rest = np.array([j for j in range(d) if j not in first], dtype=np.int64)
    shuffled = rng.permuted(np.tile(rest, (n, 1)), axis=1) if len(rest) else np.empty((n, 0))
    head = np.tile(np.asarray(first, dtype=np.int64), (n, 1))
    return np.concatenate([head, shuffled], axis=1).astype(np.int64)


def sample_codes(
    net: Any,
    tokenizer: Tokenizer,
    n: int,
    rng: np.random.Generator,
    constraints: dict[int, EncodedConstraint] | None = None,
    temperature: float = 1.0,
    top_p: float = 1.0,
) -> np.ndarray:
    """Local codes ``(n, d)`` drawn from ``net`` under ``constraints``."""
    torch = import_torch()
    constraints = constraints or {}
    weights = tokenizer.slot_weights(constraints)  # (d, W), 0 on padding
    # a constraint no token can meet (e.g. a point outside every bin): write the column
    # freely and let the base class's exact row mask reject the rows, as it would anyway
    empty = weights.sum(axis=1) <= 0
    weights[empty] = tokenizer.slot_valid[empty]
    with np.errstate(divide="ignore"):
        log_w = torch.as_tensor(np.log(weights), dtype=torch.float32)
    slots = torch.as_tensor(tokenizer.slots)
    # prompt order: columns with fewest allowed tokens first (equalities are exact prompts)
    first = sorted(constraints, key=lambda j: (int((weights[j] > 0).sum()), j))
    d = tokenizer.n_columns
    out = []
    with torch.no_grad():
        for start in range(0, n, SAMPLE_BATCH):
            m = min(SAMPLE_BATCH, n - start)
            orders = column_orders(m, d, first, rng)
            out.append(_write(net, tokenizer, orders, slots, log_w, rng, temperature, top_p))
    return np.concatenate(out) if out else np.zeros((0, d), dtype=np.int64)


def _write(
    net: Any,
    tokenizer: Tokenizer,
    orders: np.ndarray,
    slots: Any,
    log_w: Any,
    rng: np.random.Generator,
    temperature: float,
    top_p: float,
) -> np.ndarray:
    """Codes ``(m, d)`` of ``m`` rows written in ``orders`` ``(m, d)``."""
    torch = import_torch()
    m, d = orders.shape
    codes = np.zeros((m, d), dtype=np.int64)
    rows = np.arange(m)
    cache = net.new_cache(m, d)
    prev = torch.full((m,), tokenizer.vocab_size, dtype=torch.long)  # the begin token
    orders_t = torch.as_tensor(orders)
    for t in range(d):
        col = orders_t[:, t]
        hidden = net.step_hidden(prev, col, cache, t)
        ids = slots[col]  # (m, W) global ids of this column's tokens
        logits = _column_logits(net, hidden, orders[:, t], slots) / temperature + log_w[col]
        probs = torch.softmax(logits.double(), dim=1)
        if top_p < 1.0:
            probs = _nucleus(torch, probs, top_p)
        cumulative = torch.cumsum(probs, dim=1).numpy()
        u = rng.random(m) * cumulative[:, -1]
        pick = (cumulative < u[:, None]).sum(axis=1)
        # never land on an impossible token through rounding at the top of the cumsum
        last_ok = probs.shape[1] - 1 - np.argmax((probs.numpy() > 0)[:, ::-1], axis=1)
        pick = np.minimum(pick, last_ok)
        codes[rows, orders[:, t]] = pick
        prev = ids[torch.as_tensor(rows), torch.as_tensor(pick)]
    return codes


def _column_logits(net: Any, hidden: Any, columns: np.ndarray, slots: Any) -> Any:
    """``(m, W)`` logits of each row's own column's tokens, one matmul per column."""
    torch = import_torch()
    out = torch.empty(len(columns), slots.shape[1])
    weight, bias = net.head.weight, net.head.bias
    for j in np.unique(columns):
        rows = torch.as_tensor(np.flatnonzero(columns == j))
        ids = slots[j]
        out[rows] = hidden[rows] @ weight[ids].T + bias[ids]
    return out


def _nucleus(torch: Any, probs: Any, top_p: float) -> Any:
    """Keep the smallest set of most likely tokens whose mass reaches ``top_p``."""
    sorted_p, index = torch.sort(probs, dim=1, descending=True)
    before = torch.cumsum(sorted_p, dim=1) - sorted_p  # mass of strictly likelier tokens
    keep_sorted = before < top_p
    keep = torch.zeros_like(keep_sorted).scatter(1, index, keep_sorted)
    kept = probs * keep
    return kept / kept.sum(dim=1, keepdim=True)
