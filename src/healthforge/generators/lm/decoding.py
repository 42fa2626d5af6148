"""Schema-constrained, batched sampling of token codes from the ``lm`` network.

Rows are written column by column in a random order (one per batch of rows); columns
under a condition are written first (the prompt), most restrictive first. Hard rules
learnt from the data (:mod:`.rules`) narrow later columns once a column is written.
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
from healthforge.generators.lm.rules import RuleBook
from healthforge.generators.lm.tokenizer import Tokenizer
from healthforge.generators.torch_support import import_torch

SAMPLE_BATCH = 4096  # rows written together; bounds memory of the key/value caches


def column_order(d: int, first: list[int], rng: np.random.Generator) -> np.ndarray:
    """``(d,)`` column order: ``first`` in that order, then the rest shuffled."""
    rest = np.array([j for j in range(d) if j not in first], dtype=np.int64)
    return np.concatenate([np.asarray(first, dtype=np.int64), rng.permutation(rest)])


def sample_codes(
    net: Any,
    tokenizer: Tokenizer,
    n: int,
    rng: np.random.Generator,
    constraints: dict[int, EncodedConstraint] | None = None,
    temperature: float = 1.0,
    top_p: float = 1.0,
    rules: RuleBook | None = None,
) -> np.ndarray:
    """Local codes ``(n, d)`` drawn from ``net`` under ``constraints`` and ``rules``.

    Each batch of rows shares one random column order (the network was trained on all
    orders, so any is valid); sharing it makes every step one matrix product and lets
    the hard rules apply column by column.
    """
    constraints = constraints or {}
    weights = tokenizer.slot_weights(constraints)  # (d, W), 0 on padding
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
            order = column_order(d, first, rng)
            out.append(_write(net, tokenizer, m, order, weights, rng, temperature, top_p, rules))
    return np.concatenate(out) if out else np.zeros((0, d), dtype=np.int64)


def _write(
    net: Any,
    tokenizer: Tokenizer,
    m: int,
    order: np.ndarray,
    weights: np.ndarray,
    rng: np.random.Generator,
    temperature: float,
    top_p: float,
    rules: RuleBook | None,
) -> np.ndarray:
    """Codes ``(m, d)`` of ``m`` rows written column by column in ``order``."""
    torch = import_torch()
    d = len(order)
    codes = np.zeros((m, d), dtype=np.int64)
    allowed = np.repeat((weights > 0)[None], m, axis=0) if rules is not None else None
    with np.errstate(divide="ignore"):
        log_w = np.log(weights)
    cache = net.new_cache(m, d)
    prev = torch.full((m,), tokenizer.vocab_size, dtype=torch.long)  # the begin token
    head_w, head_b = net.head.weight, net.head.bias
    for t, j in enumerate(order):
        hidden = net.step_hidden(prev, torch.full((m,), int(j), dtype=torch.long), cache, t)
        ids = torch.as_tensor(tokenizer.slots[j])
        logits = (hidden @ head_w[ids].T + head_b[ids]).double().numpy() / temperature
        logits = logits + log_w[j]
        if allowed is not None:
            ok = allowed[:, j]
            # rules never override a condition: rows left with nothing follow the condition
            ok[~ok.any(axis=1)] = weights[j] > 0
            logits = np.where(ok, logits, -np.inf)
        pick = _draw(logits, rng, top_p)
        codes[:, j] = pick
        if rules is not None:
            rules.apply(allowed, int(j), pick)  # type: ignore[arg-type]
        prev = ids[torch.as_tensor(pick)]
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
