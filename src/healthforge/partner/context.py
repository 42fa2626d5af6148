"""What a language model may know about the user's data: the :class:`ModelContext`.

:func:`build_context` is the only way anything about the table reaches a model. It holds
the workflow stage, the schema (names, kinds, roles, frequent category labels, numeric
ranges rounded outward to a coarse step), aggregate statistics (missing shares, rounded
means and spreads, category shares), evaluation figures (numbers only) and the last turns
of the conversation. It never holds a data row, unless ``allow_rows=True`` *and* the
backend runs locally; for a remote endpoint that request is refused.

Category labels can identify a row too: the labels of a column that the PHI screen flags,
of free text, and of a column whose values are nearly all distinct (names, record numbers)
are left out, and labels seen fewer than :data:`MIN_CELL` times are pooled as "other".
Text that is passed on verbatim (the user's turns, tool summaries, evaluation keys) goes
through :meth:`ModelContext.scrub`, which replaces those withheld values, and numbers that
occur once in a numeric column, by ``[withheld]``. The scrubber keeps salted hashes, never
the values themselves.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from healthforge.errors import HealthForgeError

MIN_CELL = 5  # a label seen fewer times than this is pooled into "other"
MAX_LABELS = 30  # at most this many labels per column
NEAR_UNIQUE = 0.5  # distinct / non-missing above this: labels identify rows, leave them out
MAX_TURNS = 6  # last turns of the conversation passed on
MAX_TURN_CHARS = 600
MAX_ROWS = 20  # rows passed to a local model when the user allowed it
WITHHELD = "[withheld]"
_MAX_NGRAM = 4
_STRIP = ".,;:!?()[]{}\"'`<>"
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# results a model has no use for, or that name files (paths can hold a person's name)
_SKIP_KEYS = frozenset({"provenance", "timings", "outputs", "source", "files", "code", "paths"})
_PATH = re.compile(r"[/\\]|^[\w.-]+\.(?:csv|tsv|parquet|xlsx?|json|ya?ml|html|pkl)$", re.I)


@dataclass(frozen=True)
class ColumnSummary:
    """One column as a model sees it: no value that could single out a row."""

    name: str
    kind: str
    role: str = "feature"
    missing_share: float = 0.0
    low: float | None = None  # range rounded outward to a coarse step
    high: float | None = None
    mean: float | None = None  # 3 significant figures
    sd: float | None = None
    distinct: int | None = None
    labels: dict[str, float] | None = None  # label -> share of rows, frequent labels only
    withheld: str | None = None  # why labels/values are left out


@dataclass
class ModelContext:
    """Everything a language model may be told about the session (see the module doc)."""

    stage: str
    n_rows: int | None = None
    target: str | None = None
    columns: list[ColumnSummary] = field(default_factory=list)
    evaluation: dict[str, Any] = field(default_factory=dict)
    turns: list[dict[str, str]] = field(default_factory=list)
    rows: list[dict[str, Any]] | None = None  # only for a local model the user allowed
    _scrubber: _Scrubber | None = field(default=None, repr=False, compare=False)

    @property
    def has_rows(self) -> bool:
        return bool(self.rows)

    def scrub(self, text: str) -> str:
        """``text`` with values that could identify a row replaced by ``[withheld]``."""
        return self._scrubber.scrub(text) if self._scrubber is not None else text

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: what is sent to a model (the scrubber is not)."""
        out: dict[str, Any] = {"stage": self.stage, "n_rows": self.n_rows, "target": self.target}
        out["columns"] = [
            {k: v for k, v in dataclasses.asdict(c).items() if v is not None} for c in self.columns
        ]
        out["evaluation"] = self.evaluation
        out["turns"] = self.turns
        if self.rows:
            out["rows"] = self.rows
        return out

    def to_prompt(self) -> str:
        """A compact plain-text description for a model's system prompt."""
        lines = []
        if self.n_rows is not None:
            lines.append(f"Table: {self.n_rows} rows, {len(self.columns)} columns.")
        if self.target:
            lines.append(f"Target (outcome) column: {self.target}.")
        for c in self.columns:
            lines.append("- " + _describe(c))
        if self.evaluation:
            figures = ", ".join(f"{k}={v}" for k, v in list(self.evaluation.items())[:40])
            lines.append(f"Evaluation figures: {figures}.")
        if self.rows:
            lines.append(f"Example rows (local model, allowed by the user): {self.rows}")
        lines.append(f"Workflow stage: {self.stage}.")  # last: the rest is shared across turns
        return "\n".join(lines)


def _describe(c: ColumnSummary) -> str:
    parts = [f"{c.name} ({c.kind}"]
    if c.role != "feature":
        parts.append(f", {c.role}")
    parts.append(")")
    if c.low is not None and c.high is not None:
        parts.append(f" range about {_fmt(c.low)} to {_fmt(c.high)}")
    if c.mean is not None:
        parts.append(f", mean {_fmt(c.mean)}" + (f", sd {_fmt(c.sd)}" if c.sd is not None else ""))
    if c.labels:
        shown = ", ".join(f"{k} {v:.0%}" for k, v in c.labels.items())
        parts.append(f"; values: {shown}")
    elif c.distinct is not None:
        parts.append(f"; {c.distinct} distinct values")
    if c.missing_share:
        parts.append(f"; {c.missing_share:.0%} missing")
    if c.withheld:
        parts.append(f"; values withheld ({c.withheld})")
    return "".join(parts)


def _fmt(x: float | None) -> str:
    if x is None:
        return "?"
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def build_context(
    state: Any, allow_rows: bool = False, backend: object | None = None
) -> ModelContext:
    """The :class:`ModelContext` for the session ``state``.

    ``state`` is the engine's session state or a mapping, read for ``stage``, ``frame``
    (or ``tool_context.frame``), ``schema``, ``target``, ``results`` (evaluation figures),
    and ``turns``/``history`` (dicts with ``role`` and ``text``, or pairs). ``allow_rows``
    adds up to :data:`MAX_ROWS` rows without direct identifiers, and is refused unless
    ``backend`` declares ``local = True``.
    """
    if allow_rows and not bool(getattr(backend, "local", False)):
        name = getattr(backend, "name", "this backend")
        raise HealthForgeError(
            f"raw rows may only be shown to a model running on this machine, not to {name}",
            "use a local model (llama.cpp in-process or on 127.0.0.1) or leave rows out",
        )
    frame = _get(state, "frame")
    if frame is None:
        frame = _get(_get(state, "tool_context") or _get(state, "ctx"), "frame")
    schema = _get(state, "schema") or _get(_get(state, "tool_context"), "schema")
    stage = _get(state, "stage")
    stage_text = str(getattr(stage, "value", stage) or "start")
    target = _get(state, "target") or getattr(schema, "target", None)
    columns: list[ColumnSummary] = []
    scrubber = _Scrubber()
    if isinstance(frame, pd.DataFrame):
        for name in frame.columns:
            col = _column_schema(schema, str(name))
            summary, secret = _summarise(str(name), frame[name], col)
            columns.append(summary)
            scrubber.add(secret)
    context = ModelContext(
        stage=stage_text,
        n_rows=len(frame) if isinstance(frame, pd.DataFrame) else None,
        target=str(target) if target else None,
        columns=columns,
        _scrubber=scrubber,
    )
    context.evaluation = _figures(_get(state, "results") or {}, scrubber)
    context.turns = _turns(_get(state, "turns") or _get(state, "history") or [], scrubber)
    if allow_rows and isinstance(frame, pd.DataFrame):
        context.rows = _rows(frame, columns)
    return context


def _get(state: Any, name: str) -> Any:
    if state is None:
        return None
    if isinstance(state, Mapping):
        return state.get(name)
    return getattr(state, name, None)


def _column_schema(schema: Any, name: str) -> Any:
    try:
        return schema[name] if schema is not None and name in schema else None
    except (KeyError, TypeError):
        return None


# duplicates: shaped like evaluation/report/frames.py's dtype dispatch, but a different
# vocabulary (what a model is told a column holds, not how the report plots it)
def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_numeric_dtype(series):
        return "continuous"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "categorical"


def _summarise(name: str, series: pd.Series, col: Any) -> tuple[ColumnSummary, list[str]]:
    """The column's summary, and the values the scrubber must catch in free text."""
    from healthforge.data.phi import identifier_reason

    kind = str(getattr(col, "kind", None) or _kind(series))
    role = str(getattr(col, "role", None) or "feature")
    nonnull = series.dropna()
    n = len(nonnull)
    missing = round(1 - n / len(series), 2) if len(series) else 0.0
    distinct = int(nonnull.nunique()) if n else 0
    flagged = "direct identifier" if role == "identifier" else None
    if flagged is None:
        try:
            flagged = identifier_reason(name, series, kind)
        except Exception:
            flagged = None
    near_unique = n > 0 and distinct / n > NEAR_UNIQUE and distinct > MIN_CELL
    numeric = kind in {"continuous", "integer"} and pd.api.types.is_numeric_dtype(series)
    base = {"name": name, "kind": kind, "role": role, "missing_share": missing}
    if flagged or kind == "text" or (near_unique and not numeric):
        reason = flagged or ("free text" if kind == "text" else "nearly every value is distinct")
        secret = [str(v) for v in nonnull.unique()]
        if numeric:
            secret = [_number_key(v) for v in nonnull.unique()]
        elif flagged and kind != "text":
            # a surname or one part of an address identifies as well as the whole value
            secret += sorted({w for v in secret for w in v.split() if len(w.strip(_STRIP)) > 2})
        return ColumnSummary(**base, distinct=distinct, withheld=reason), secret
    if numeric:
        values = nonnull.astype(float).to_numpy()
        counts = nonnull.value_counts()
        once = counts.index[counts.to_numpy() == 1]
        secret = [_number_key(v) for v in once if _significant(v)]
        if n == 0:
            return ColumnSummary(**base), secret
        low, high = _round_out(float(values.min()), float(values.max()))
        mean = _sig(float(values.mean()))
        sd = _sig(float(values.std())) if n > 1 else None
        return ColumnSummary(
            **base, low=low, high=high, mean=mean, sd=sd, distinct=distinct
        ), secret
    if kind == "datetime":
        return ColumnSummary(**base, distinct=distinct), []
    counts = nonnull.astype(str).value_counts()
    frequent = counts[counts >= MIN_CELL].head(MAX_LABELS)
    labels_of = getattr(col, "labels", None) or {}
    readable = {str(k): str(v) for k, v in labels_of.items()}
    labels = {
        f"{k} ({readable[k]})" if k in readable else k: round(v / n, 2) for k, v in frequent.items()
    }
    rare = [k for k in counts.index if k not in frequent.index]
    if rare:
        labels["other"] = round(float(counts[rare].sum()) / n, 2)
    return ColumnSummary(**base, distinct=distinct, labels=labels), rare


def _significant(value: Any) -> bool:
    """A number precise enough (3+ significant digits) to single out a row by itself."""
    digits = re.sub(r"[^0-9]", "", _number_key(value)).strip("0")
    return len(digits) >= 3


def _number_key(value: Any) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(int(x)) if x.is_integer() else repr(x)


def _sig(x: float, digits: int = 3) -> float | None:
    if not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}")


def _round_out(low: float, high: float) -> tuple[float, float]:
    """``low``/``high`` rounded outward to a step of 1, 2 or 5 x 10^k, about 1/20 of the span."""
    span = high - low
    if span <= 0:
        span = abs(high) or 1.0
    raw = span / 20
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    lo, hi = math.floor(low / step) * step, math.ceil(high / step) * step
    if hi == high and high != 0:
        hi += step  # never report an exact maximum or minimum
    if lo == low and low != 0:
        lo -= step
    return _sig(lo, 6) or 0.0, _sig(hi, 6) or 0.0


def _figures(results: Any, scrubber: _Scrubber, prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """Numbers (and short labels) found in the session's results, as flat ``a.b.c`` keys."""
    out: dict[str, Any] = {}
    if depth > 4:
        return out
    if dataclasses.is_dataclass(results) and not isinstance(results, type):
        results = {f.name: getattr(results, f.name) for f in dataclasses.fields(results)}
    if not isinstance(results, Mapping):
        return out
    for key, value in results.items():
        if str(key) in _SKIP_KEYS:
            continue
        name = prefix + scrubber.scrub(str(key))
        if isinstance(value, pd.DataFrame | pd.Series | np.ndarray):
            continue  # tables (real or synthetic) never go to a model
        if isinstance(value, bool | np.bool_):
            out[name] = bool(value)
        elif isinstance(value, int | np.integer):
            out[name] = int(value)
        elif isinstance(value, float | np.floating):
            if math.isfinite(float(value)):
                out[name] = _sig(float(value), 4)
        elif isinstance(value, str) and len(value) <= 60 and not _PATH.search(value):
            out[name] = scrubber.scrub(value)
        elif isinstance(value, Mapping) or dataclasses.is_dataclass(value):
            out.update(_figures(value, scrubber, f"{name}.", depth + 1))
        if len(out) >= 200:
            break
    return out


def _turns(turns: Any, scrubber: _Scrubber) -> list[dict[str, str]]:
    out = []
    for turn in list(turns)[-MAX_TURNS:]:
        if isinstance(turn, Mapping):
            role, text = (
                str(turn.get("role", "user")),
                str(turn.get("text", turn.get("content", ""))),
            )
        else:
            role, text = str(turn[0]), str(turn[1])
        out.append({"role": role, "text": scrubber.scrub(text[:MAX_TURN_CHARS])})
    return out


def _rows(frame: pd.DataFrame, columns: list[ColumnSummary]) -> list[dict[str, Any]]:
    """A few rows for a local model; direct identifiers and withheld columns still left out."""
    keep = [c.name for c in columns if c.withheld is None]
    sample = frame[keep].head(MAX_ROWS)
    return [
        {k: (None if pd.isna(v) else (v.item() if hasattr(v, "item") else v)) for k, v in r.items()}
        for r in sample.to_dict(orient="records")
    ]


class _Scrubber:
    """Replaces withheld values in free text; holds salted hashes, not the values."""

    def __init__(self) -> None:
        self._salt = os.urandom(16)
        self._hashes: set[bytes] = set()
        self._max_words = 1

    def _hash(self, text: str) -> bytes:
        return hashlib.blake2b(text.encode(), key=self._salt, digest_size=16).digest()

    def add(self, values: list[str]) -> None:
        for value in values:
            norm = " ".join(str(value).lower().split()).strip(_STRIP)
            if len(norm) < 2:
                continue
            words = norm.count(" ") + 1
            if words <= _MAX_NGRAM:
                self._max_words = max(self._max_words, words)
                self._hashes.add(self._hash(norm))

    def scrub(self, text: str) -> str:
        if not self._hashes or not text:
            return text
        words = text.split()
        bare = [w.strip(_STRIP).lower() for w in words]
        out: list[str] = []
        i = 0
        while i < len(words):
            for size in range(min(self._max_words, len(words) - i), 0, -1):
                phrase = " ".join(bare[i : i + size])
                hit = self._hash(phrase) in self._hashes
                if hit or (size == 1 and self._number_hit(bare[i])):
                    out.append(WITHHELD)
                    i += size
                    break
            else:
                out.append(words[i])
                i += 1
        return " ".join(out)

    def _number_hit(self, word: str) -> bool:
        match = _NUMBER.fullmatch(word)
        return bool(match) and self._hash(_number_key(word)) in self._hashes
