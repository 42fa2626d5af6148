"""Schema-constrained, batched decoding with a KV cache: every row parses by construction.

Each row follows a plan: its column order (conditioned columns first, the rest shuffled),
and for each column the forced prefix tokens (``" age is"``) then a walk down that
column's value trie. At a trie node only the tokens that continue some allowed value may
be drawn, plus the separator (``","``, or ``<eos>`` after the last column) where a value
is complete; the model's probabilities are renormalised over those tokens. Nothing is
rejected or repaired afterwards.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from healthforge.generators.llm.model import CutHeadLM
from healthforge.generators.llm.text import ColumnText, TrieNode


class _Row:
    """Decoding state of one row: the tokens still to force, or the trie node reached."""

    __slots__ = ("done", "k", "node", "order", "queue")

    def __init__(self, order: list[int], queue: list[int], node: TrieNode) -> None:
        self.order = order
        self.k = 0
        self.queue = queue
        self.node = node
        self.done = False


def sample_batch(
    lm: CutHeadLM,
    columns: list[ColumnText],
    tries: list[TrieNode],
    orders: list[list[int]],
    rng: np.random.Generator,
    special: dict[str, int | None],
    local: dict[int, int],
    temperature: float,
) -> np.ndarray:
    """Encoded rows ``(len(orders), n_columns)`` decoded along ``orders`` with ``tries``."""
    torch = lm.torch
    sep, eos, bos, pad = special["sep"], special["eos"], special["bos"], special["pad"]
    values = np.full((len(orders), len(columns)), np.nan)
    rows = []
    for order in orders:
        first = columns[order[0]].first_prefix
        rows.append(_Row(order, ([] if bos is None else [bos]) + list(first), tries[order[0]]))
    feed = np.array([r.queue.pop(0) for r in rows], dtype=np.int64)
    allowed_cache: dict[tuple[int, bool], np.ndarray] = {}
    past = None
    with torch.inference_mode():
        while not all(r.done for r in rows):
            logits, past = lm.step(torch.as_tensor(feed[:, None], device=lm.device), past)
            scores = (logits.float() / temperature).cpu().numpy()
            for i, row in enumerate(rows):
                if row.done:
                    feed[i] = pad
                elif row.queue:
                    feed[i] = row.queue.pop(0)
                else:
                    feed[i] = _choose(
                        row,
                        scores[i],
                        columns,
                        tries,
                        values[i],
                        rng,
                        sep,
                        eos,
                        local,
                        allowed_cache,
                    )
    return values


def _choose(
    row: _Row,
    scores: np.ndarray,
    columns: list[ColumnText],
    tries: list[TrieNode],
    out: np.ndarray,
    rng: np.random.Generator,
    sep: int,
    eos: int,
    local: dict[int, int],
    cache: dict[tuple[int, bool], np.ndarray],
) -> int:
    """Draw the next token of ``row`` among the allowed ones, update its state, return it."""
    last = row.k == len(row.order) - 1
    end = eos if last else sep
    node = row.node
    key = (id(node), last)
    options = cache.get(key)
    if options is None:
        tokens = [t for t in node.next if not (node.end is not None and t == end)]
        if node.end is not None:
            tokens.append(end)  # the value is complete here: it may end
        options = cache[key] = np.array(tokens, dtype=np.int64)
    if len(options) == 1:
        token = int(options[0])
    else:
        s = scores[[local[int(t)] for t in options]]
        p = np.exp(s - s.max())
        p /= p.sum()
        token = int(options[min(int(np.searchsorted(np.cumsum(p), rng.random())), len(p) - 1)])
    if node.end is not None and token == end:
        out[row.order[row.k]] = node.end
        row.k += 1
        if row.k == len(row.order):
            row.done = True
        else:
            nxt = row.order[row.k]
            row.queue = list(columns[nxt].prefix)
            row.node = tries[nxt]
    else:
        row.node = node.next[token]
    return token


def plan_orders(
    n: int, n_columns: int, given: list[int], rng: np.random.Generator
) -> list[list[int]]:
    """Column orders: the ``given`` (conditioned) columns first, each part shuffled."""
    rest = [j for j in range(n_columns) if j not in set(given)]
    orders = []
    for _ in range(n):
        head = [given[i] for i in rng.permutation(len(given))]
        tail = [rest[i] for i in rng.permutation(len(rest))]
        orders.append(head + tail)
    return orders


def special_tokens(tokenizer: Any) -> dict[str, int | None]:
    """``bos`` (may be None), ``eos``, ``pad`` and the separator ``sep`` (``","``)."""
    sep = tokenizer(",", add_special_tokens=False).input_ids
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return {
        "bos": tokenizer.bos_token_id,
        "eos": tokenizer.eos_token_id,
        "pad": pad,
        "sep": sep[-1],
    }
