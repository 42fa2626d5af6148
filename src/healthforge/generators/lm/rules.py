"""Hard rules between token values, learnt from the training codes (non-private only).

Health tables carry exact rules: ``education`` is a recoding of ``school``, ``older``
of ``age``, a question not asked of men is missing for every man. A language model
learns them as very likely, not certain; over a few dozen columns the small leftovers
add up to rows a detector spots at once. So the rules are kept as rules: for an
ordered pair of columns (A, B) and a token ``a`` of A, "A = a forces B = b" is kept
when every training row with A = a has B = b *and* that is very unlikely by chance
(``p(b) ** count(a) < MAX_CHANCE``, so a rare token never makes a rule).

While a row is written, a written A = a restricts B to ``b``; a written B = b' rules
out every token of A that forces another value. Under differential privacy no rules
are learnt (they would be read from the data for free).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_CHANCE = 1e-6  # a rule must be this unlikely to hold by chance under independence
MIN_COUNT = 5  # rows with A = a before any rule about a is considered


@dataclass
class Rule:
    """Column ``source`` forces column ``target``: ``force[a]`` is B's token or -1."""

    source: int
    target: int
    force: np.ndarray  # (size of source,) int64


def learn_rules(codes: np.ndarray, sizes: np.ndarray) -> list[Rule]:
    """Rules among the columns of local codes ``(n, d)`` (column ``j`` in ``0..sizes[j]-1``)."""
    n, d = codes.shape
    rules: list[Rule] = []
    counts = [np.bincount(codes[:, j], minlength=sizes[j]) for j in range(d)]
    shares = [c / max(n, 1) for c in counts]
    for a in range(d):
        for b in range(d):
            if a == b or (counts[b] > 0).sum() < 2:
                continue
            joint = np.bincount(
                codes[:, a] * sizes[b] + codes[:, b], minlength=sizes[a] * sizes[b]
            ).reshape(sizes[a], sizes[b])
            total = joint.sum(axis=1)
            top = joint.argmax(axis=1)
            pure = (joint.max(axis=1) == total) & (total >= MIN_COUNT)
            with np.errstate(divide="ignore"):
                chance = np.exp(total * np.log(shares[b][top]))
            keep = pure & (chance < MAX_CHANCE)
            if keep.any():
                rules.append(Rule(a, b, np.where(keep, top, -1).astype(np.int64)))
    return rules


def force_tokens(allowed: np.ndarray, rows: np.ndarray, column: int, tokens: np.ndarray) -> None:
    """Narrow ``column`` of ``rows`` ``(k,)`` in ``allowed`` ``(m, d, W)`` to one token
    each, ``tokens`` ``(k,)``."""
    if len(rows):
        only = np.zeros((len(rows), allowed.shape[2]), dtype=bool)
        only[np.arange(len(rows)), tokens] = True
        allowed[rows, column] &= only


class RuleBook:
    """Rules indexed by column, applied to an ``allowed`` mask ``(m, d, W)`` in place."""

    def __init__(self, rules: list[Rule], d: int) -> None:
        self.by_source: list[list[Rule]] = [[] for _ in range(d)]
        self.by_target: list[list[Rule]] = [[] for _ in range(d)]
        for rule in rules:
            self.by_source[rule.source].append(rule)
            self.by_target[rule.target].append(rule)

    def apply(self, allowed: np.ndarray, column: int, tokens: np.ndarray, rows: np.ndarray) -> None:
        """Restrict other columns of ``rows`` ``(k,)`` after ``column`` was written in
        them as ``tokens`` ``(k,)``."""
        for rule in self.by_source[column]:
            forced = rule.force[tokens]
            hit = forced >= 0
            force_tokens(allowed, rows[hit], rule.target, forced[hit])
        for rule in self.by_target[column]:
            size = len(rule.force)
            # tokens of the source that force a value other than the one written
            clash = (rule.force[None, :] >= 0) & (rule.force[None, :] != tokens[:, None])
            allowed[rows, rule.source, :size] &= ~clash
