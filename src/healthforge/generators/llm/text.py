"""Rows as compact text, and the token tries that constrain decoding to the schema.

A row is written compactly as ``"age=67,sex=female,bmi=31.2"`` (GReaT's ``"age is 67,
sex is female, ..."`` without the needless tokens) in a column order shuffled per
example; underscores in column names become spaces (``"age group=65-74"``), which reads
more naturally and costs fewer tokens. With Gemma's tokenizer a Pima training row is
45.8 tokens on average instead of 52.8 (``" 67"`` costs a token for its space, ``"67"``
does not, and ``"age="`` is as short as ``" age is"``); a step's cost is proportional to
its tokens. Rows differ by at most 2 tokens, so padding is ~2% of a batch and packing
rows into one sequence would save little more than that.

The text is tokenised *segment by segment* - the prefix ``"age="``, the value ``"67"``,
the separator ``","`` (``<eos>`` after the last column) - so the token ids seen in
training are exactly the ones the constrained decoder can produce: every value of a
column is one path through that column's token trie.

Numeric columns are written on a grid of ``decimals`` places between the schema's bounds;
every grid value is a path in the trie, so bounds hold by construction (no clipping).
Ranges with more than ``MAX_TRIE_VALUES`` grid points are written with fewer decimals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from healthforge.data.schema import ColumnSchema
from healthforge.generators.core.constraints import EncodedConstraint

MAX_TRIE_VALUES = 20_000  # grid points per numeric column (tokenised once at fit time)
MISSING_TEXT = "NA"
DEFAULT_DECIMALS = 2  # continuous columns whose schema gives no decimals


@dataclass
class TrieNode:
    """Next tokens of the values sharing this prefix; ``end`` is the encoded value here."""

    next: dict[int, TrieNode] = field(default_factory=dict)
    end: float | None = None


def build_trie(token_seqs: list[list[int]], encoded: list[float]) -> TrieNode:
    """Trie over token sequences; the shortest value wins if one is a prefix of another."""
    root = TrieNode()
    for seq, value in zip(token_seqs, encoded, strict=True):
        node = root
        for token in seq:
            node = node.next.setdefault(token, TrieNode())
        if node.end is None:
            node.end = value
    return root


def trie_tokens(node: TrieNode) -> set[int]:
    out: set[int] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        out.update(current.next)
        stack.extend(current.next.values())
    return out


@dataclass
class ColumnText:
    """How one modelled column is written: its prefix tokens and its values.

    ``texts[i]``/``encoded[i]``/``tokens[i]`` describe value ``i``; ``encoded`` is the
    value in :class:`~healthforge.data.encoding.TableEncoder` space (category code or
    number, NaN for missing).
    """

    name: str
    first_prefix: list[int]
    prefix: list[int]
    texts: list[str]
    encoded: np.ndarray
    tokens: list[list[int]]
    decimals: int | None  # None for discrete columns
    trie: TrieNode

    def value_index(self, value: float) -> int:
        """Index of the written value nearest to encoded ``value`` (NaN -> missing)."""
        if not math.isfinite(value):
            hits = np.flatnonzero(~np.isfinite(self.encoded))
        elif self.decimals is None:
            hits = np.flatnonzero(self.encoded == value)
        else:
            finite = np.where(np.isfinite(self.encoded), self.encoded, np.inf)
            hits = np.array([int(np.argmin(np.abs(finite - value)))])
        return int(hits[0]) if hits.size else 0

    def restricted(self, constraint: EncodedConstraint) -> TrieNode:
        """Trie of the values allowed by ``constraint`` (the full trie if none is)."""
        enc = self.encoded
        finite = np.isfinite(enc)
        if self.decimals is None and constraint.codes is not None:
            codes = np.asarray(constraint.codes, dtype=bool)
            keep = np.zeros(len(enc), dtype=bool)
            idx = np.where(finite, enc, 0).astype(int)
            keep[finite] = codes[idx[finite]]
        else:
            with np.errstate(invalid="ignore"):
                keep = finite & (enc >= constraint.low) & (enc <= constraint.high)
        keep |= ~finite & constraint.missing_allowed
        if not keep.any():
            return self.trie  # nothing on the grid: the base class's row mask decides
        chosen = np.flatnonzero(keep)
        return build_trie([self.tokens[i] for i in chosen], [float(enc[i]) for i in chosen])


def _category_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace("\n", " ").strip()


def _grid(column: ColumnSchema, observed: np.ndarray) -> tuple[np.ndarray, int]:
    """All numbers the column may be written as, and the decimals used."""
    finite = observed[np.isfinite(observed)]
    low = column.minimum if column.minimum is not None else (finite.min() if finite.size else 0)
    high = column.maximum if column.maximum is not None else (finite.max() if finite.size else 0)
    if column.decimals is not None:
        decimals = int(column.decimals)
    else:
        decimals = 0 if column.kind in {"integer", "datetime"} else DEFAULT_DECIMALS
    while True:
        scale = 10.0**decimals
        lo, hi = math.ceil(float(low) * scale - 1e-9), math.floor(float(high) * scale + 1e-9)
        if hi - lo + 1 <= MAX_TRIE_VALUES or decimals <= 0:
            break
        decimals -= 1
    if hi - lo + 1 > MAX_TRIE_VALUES:  # wide integer range: an even grid of steps
        step = math.ceil((hi - lo + 1) / MAX_TRIE_VALUES)
        return np.arange(lo, hi + 1, step, dtype=float), 0
    return np.arange(lo, hi + 1, dtype=float) / scale, decimals


def _number_text(value: float, decimals: int) -> str:
    return f"{value + 0.0:.{decimals}f}"  # + 0.0 turns -0.0 into 0.0


def column_text(
    column: ColumnSchema,
    observed: np.ndarray,
    tokenize: Any,
    has_missing: bool,
    label: str | None = None,
) -> ColumnText:
    """Describe ``column``; ``tokenize(list[str]) -> list[list[int]]`` (no special tokens);
    ``label`` is its name in the text (default :func:`column_label`)."""
    if column.is_discrete:
        cats = column.categories or []
        texts = [_category_text(c) for c in cats]
        encoded = np.arange(len(cats), dtype=float)
        decimals = None
    else:
        encoded, decimals = _grid(column, observed)
        texts = [_number_text(v, decimals) for v in encoded]
    if has_missing:
        texts.append(MISSING_TEXT)
        encoded = np.append(encoded, np.nan)
    tokens = tokenize(texts)
    label = column_label(column.name) if label is None else label
    # no space after "," - the same prefix starts the row and follows a separator
    prefix = tokenize([f"{label}="])[0]
    trie = build_trie(tokens, list(encoded))
    return ColumnText(column.name, prefix, prefix, texts, encoded, tokens, decimals, trie)


def column_label(name: str) -> str:
    """How a column is named in the text: ``age_group`` -> ``age group``."""
    return " ".join(name.replace("_", " ").split()) or name


def column_labels(names: list[str]) -> list[str]:
    """Text labels of ``names``; a column whose label would collide keeps its own name."""
    labels = [column_label(n) for n in names]
    return [lab if labels.count(lab) == 1 else n for lab, n in zip(labels, names, strict=True)]


def serialise(
    columns: list[ColumnText],
    row: np.ndarray,
    order: np.ndarray,
    bos: int | None,
    sep: int,
    eos: int,
) -> tuple[list[int], list[bool]]:
    """Token ids of one encoded ``row`` in column ``order``, and which ones carry loss.

    Only value tokens and the separator that ends each value are learned: the prefixes
    are forced at sampling time, so predicting them would spend capacity for nothing.
    """
    ids: list[int] = [] if bos is None else [bos]
    learn: list[bool] = [False] * len(ids)
    for k, j in enumerate(order):
        col = columns[j]
        prefix = col.first_prefix if k == 0 else col.prefix
        value = col.tokens[col.value_index(float(row[j]))]
        end = eos if k == len(order) - 1 else sep
        ids += [*prefix, *value, end]
        learn += [False] * len(prefix) + [True] * (len(value) + 1)
    return ids, learn
