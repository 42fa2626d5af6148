"""Reading arguments out of plain words: rows, ε, generators, columns and conditions.

Used by the rule-based router. Conditions come out in the project's condition syntax
(``healthforge generate --condition``: ``age>=65``, ``sex=female``, ``region=South``), so
they are validated by the same code as the CLI's.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

import pandas as pd

# misspellings and variants clinicians type, mapped to the word the router knows
VOCABULARY = [
    "generate",
    "generator",
    "generators",
    "produce",  # not "reproduce" (export_code)
    "synthetic",
    "synthesise",
    "synthesize",
    "profile",
    "evaluate",
    "evaluation",
    "report",
    "export",
    "augment",
    "privacy",
    "private",
    "identifiers",
    "fairness",
    "compare",
    "scenario",
    "recommend",
    "describe",
    "plot",
    "histogram",
    "distribution",
    "continue",
    "patients",
    "records",
    "remove",
    "explain",
    "screen",
    "balance",
    "underrepresented",
    "oversample",
    "epsilon",
    "differential",
    "reproduce",
]
WORD = re.compile(r"[a-zA-Zε]+")

GENERATOR_ALIASES: dict[str, tuple[str, ...]] = {
    "bayesian_network": ("bayesian network", "bayes net", "bayesnet", "bayesian_network", "bn"),
    "gaussian_copula": ("gaussian copula", "gaussian_copula"),
    "dp_copula": ("dp copula", "dp_copula", "private copula"),
    "cart": ("cart", "synthpop", "decision tree"),
    "arf": ("arf", "adversarial random forest", "random forest"),
    "ctgan": ("ctgan", " gan"),
    "tvae": ("tvae", "autoencoder"),
    "ddpm": ("ddpm", "diffusion"),
    "latent_copula": ("latent copula", "latent_copula"),
    "aim": ("aim",),
    "mst": ("mst",),
    "dpctgan": ("dpctgan", "dp ctgan", "dp-ctgan"),
    "dptvae": ("dptvae", "dp tvae", "dp-tvae"),
    "ensemble": ("ensemble",),
    "independent": ("independent", "marginals only"),
    "auto": ("auto", "best generator for", "pick the best", "you choose", "choose for me"),
}
UNITS = r"(?:patients?|rows?|records?|people|persons?|subjects?|samples?|individuals?|cases?)"
NUMBER = r"(\d{1,3}(?:[,\s]\d{3})+|\d+(?:\.\d+)?)\s*(k|thousand|m|million)?"


def normalise(text: str) -> str:
    """Lower case, unicode signs as ASCII operators, misspelt keywords corrected."""
    text = text.replace("≥", ">=").replace("≤", "<=").replace("⩾", ">=").replace("⩽", "<=")
    text = text.replace("–", "-").replace("—", "-").replace("’", "'")
    out = []
    for token in re.split(r"(\s+)", text):
        word = token.lower().strip(".,;:!?")
        if len(word) >= 5 and word.isalpha() and word not in VOCABULARY:
            close = difflib.get_close_matches(word, VOCABULARY, n=1, cutoff=0.8)
            if close:
                token = token.lower().replace(word, close[0])
        out.append(token)
    return "".join(out)


def _number(digits: str, scale: str | None) -> float:
    value = float(re.sub(r"[,\s]", "", digits))
    factor = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6}.get((scale or "").lower(), 1)
    return value * factor


def parse_rows(text: str) -> int | None:
    """``500 patients``, ``2k rows``, ``1,000 records``, ``n=500``, ``rows: 300``."""
    patterns = (
        rf"\b{NUMBER}\s*(?:synthetic\s+|new\s+|fake\s+|more\s+|extra\s+)?{UNITS}\b",
        r"\bn\s*=\s*" + NUMBER,
        r"\brows?\s*(?:=|:|of|to)?\s*" + NUMBER,
        # "400 of them", "create 100 surgical patients", "generate 800 smokers"
        rf"\b{NUMBER}\s+of them\b",
        rf"\b{NUMBER}\s+(?:synthetic\s+|new\s+)?(?:men|women|males|females|adults|smokers)\b",
        rf"\b{NUMBER}\s+\w+\s+{UNITS}\b",
        r"\b(?:generate|make|create|synthesi[sz]e|simulate)\s+"
        + NUMBER
        + r"(?!\s*(?:\+|%|years?\b))",
    )
    for pattern in patterns:
        match = re.search(pattern, text, re.IGNORECASE)
        if match:
            value = _number(match.group(1), match.group(2))
            if value >= 1 and value == int(value):
                return int(value)
    return None


def parse_epsilon(text: str) -> float | None:
    """``ε=1``, ``epsilon 0.5``, ``eps of 2``, ``e=1`` next to 'privacy'."""
    match = re.search(
        r"(?:ε|epsilon|epsilo|espilon|eps)\s*(?:=|:|of|to|at|is)?\s*(\d+(?:\.\d+)?)",
        text,
        re.IGNORECASE,
    )
    return float(match.group(1)) if match else None


def parse_generator(text: str, names: list[str]) -> str | None:
    """A generator named (or described) in ``text``."""
    low = f" {text.lower()} "
    for name in sorted(names, key=len, reverse=True):
        if re.search(rf"\b{re.escape(name)}\b", low):
            return name
    for name, aliases in GENERATOR_ALIASES.items():
        if (name in names or name == "auto") and any(
            re.search(rf"\b{re.escape(a.strip())}\b", low) for a in aliases
        ):
            return name
    return None


def parse_privacy(text: str) -> str | None:
    low = text.lower()
    if re.search(r"\bstrict\b|strongest privacy|maximum privacy", low):
        return "strict"
    if re.search(r"\bstandard\b|privacy filter|\bfilter\b", low):
        return "standard"
    if re.search(r"\bno privacy\b|privacy (?:off|none)", low):
        return "none"
    return None


def find_columns(text: str, columns: list[str], fuzzy: bool = True) -> list[str]:
    """Columns named in ``text`` (whole words; misspellings matched when ``fuzzy``)."""
    low = text.lower()
    found = []
    lower = {c.lower(): c for c in columns}
    for key, name in sorted(lower.items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"(?<![\w]){re.escape(key)}(?![\w])", low) and name not in found:
            found.append(name)
    if fuzzy and not found:
        for word in WORD.findall(low):
            if len(word) < 4 or word in VOCABULARY:
                continue
            close = difflib.get_close_matches(word, list(lower), n=1, cutoff=0.85)
            if close and lower[close[0]] not in found:
                found.append(lower[close[0]])
    return found


def category_values(frame: pd.DataFrame | None, schema: Any = None) -> dict[str, list[str]]:
    """Column -> its category labels (strings): string columns with few values, the
    schema's labels for coded columns, and derived columns (age_group, region)."""
    values: dict[str, list[str]] = {}
    if frame is not None:
        for column in frame.columns:
            series = frame[column]
            textual = series.dtype == object or pd.api.types.is_string_dtype(series)
            if textual or isinstance(series.dtype, pd.CategoricalDtype):
                unique = series.dropna().astype(str).unique()
                if len(unique) <= 60:
                    values[str(column)] = [str(u) for u in unique]
    if schema is not None:
        for column in getattr(schema, "columns", None) or []:
            labels = getattr(column, "labels", None) or {}
            if labels:
                values[str(column.name)] = [str(v) for v in labels.values()]
        if frame is not None and getattr(schema, "derived", None):
            from healthforge.data.derived import add_derived

            try:
                extra = add_derived(frame, schema)
            except Exception:  # a derived column the table cannot compute: not offered
                extra = frame
            for derived in schema.derived:
                if derived.name in extra.columns:
                    unique = extra[derived.name].dropna().astype(str).unique()
                    values[str(derived.name)] = sorted(str(u) for u in unique)
    return values


SEX_WORDS = {
    "female": ("women", "woman", "female", "females", "girls"),
    "male": ("men", "man", "male", "males", "boys"),
}


def parse_conditions(text: str, columns: list[str], values: dict[str, list[str]]) -> list[str]:
    """Conditions in ``text`` in the project's syntax: ages, sex, ``COLUMN VALUE`` pairs,
    and explicit ``COLUMN>=N`` / ``COLUMN=VALUE``."""
    low = text.lower()
    out: list[str] = []
    names = {c.lower(): c for c in [*columns, *values]}
    # explicit: age>=65, sex = female, race in [a, b]
    for match in re.finditer(r"\b([a-z_][\w]*)\s*(>=|<=|!=|==|=|>|<)\s*([\w.\-+]+)", low):
        column = names.get(match.group(1))
        if column is not None and match.group(1) not in ("n", "rows", "eps", "epsilon"):
            value = _label(column, match.group(3), values)
            out.append(f"{column}{match.group(2)}{value}")
    age = names.get("age")
    if age is not None:
        out += _age_conditions(low, age, out)
    sex = names.get("sex") or names.get("gender")
    if sex is not None and not any(c.startswith(sex) for c in out):
        for label, words in SEX_WORDS.items():
            if any(re.search(rf"\b{w}\b", low) for w in words):
                out.append(f"{sex}={_label(sex, label, values)}")
                break
    # a bare label that names a value of one column only: "surgical", "emergency", "Black"
    out += _bare_labels(low, values, out)
    # COLUMN VALUE: "region South", "race black", "service surgical"
    for column, labels in values.items():
        if any(c.split("=")[0].split(">")[0].split("<")[0] == column for c in out):
            continue
        name = re.escape(column.lower())
        after = re.search(rf"\b{name}\s*(?:is|of|=|:)?\s*([\w/+\-]+(?:\s[\w]+)?)", low)
        before = re.search(rf"([\w/+\-]+)\s+{name}\b", low)
        candidates = []
        if after:
            candidates += [after.group(1), after.group(1).split()[0]]
        if before:
            candidates.append(before.group(1))
        for candidate in candidates:
            label = _match_label(candidate, labels)
            if label is not None:
                out.append(f"{column}={label}")
                break
    return out


_GENERIC_LABELS = frozenset({"yes", "no", "none", "other", "unknown", "missing", "true", "false"})


def _bare_labels(low: str, values: dict[str, list[str]], already: list[str]) -> list[str]:
    """``COLUMN=LABEL`` for each word (4+ letters) that is a label of exactly one column."""
    owners: dict[str, list[tuple[str, str]]] = {}
    names = {column.lower() for column in values}  # "coma" names a column, not a value
    for column, labels in values.items():
        for label in labels:
            key = label.lower()
            if len(key) >= 4 and key.isalpha() and key not in _GENERIC_LABELS | names:
                owners.setdefault(key, []).append((column, label))
    out: list[str] = []
    taken = {re.split(r"[<>=!]", c)[0] for c in already}
    for word in re.findall(r"[a-z]+", low):
        found = owners.get(word)
        if found and len(found) == 1 and found[0][0] not in taken:
            out.append(f"{found[0][0]}={found[0][1]}")
            taken.add(found[0][0])
    return out


def _age_conditions(low: str, age: str, already: list[str]) -> list[str]:
    if any(c.startswith(age) for c in already):
        return []
    between = re.search(r"(?:aged?|between)\s*(\d+)\s*(?:-|to|and)\s*(\d+)", low)
    if between:
        return [f"{age}>={between.group(1)}", f"{age}<={between.group(2)}"]
    patterns = (
        (r"(?:aged?\s*)?(\d+)\s*\+", ">="),
        (r"(?:aged?\s*)?(\d+)\s*(?:years?\s*)?(?:and|or)\s*(?:over|older|above)", ">="),
        (r"(?:over|older than|above|at least)\s*(?:the age of\s*)?(\d+)", ">="),
        (r"(?:under|younger than|below)\s*(?:the age of\s*)?(\d+)", "<"),
        (r"(?:aged?\s*)(\d+)\s*(?:years?\s*)?(?:and|or)\s*(?:under|younger|below)", "<="),
    )
    for pattern, op in patterns:
        for match in re.finditer(pattern + r"(?!\s*(?:k\b|,\d|\d))", low):
            after = low[match.end() : match.end() + 12]
            if int(match.group(1)) > 120 or re.match(rf"\s*{UNITS}", after):
                continue  # "over 500 patients" is a number of rows, not an age
            return [f"{age}{op}{match.group(1)}"]
    return []


def _match_label(word: str, labels: list[str]) -> str | None:
    lower = {label.lower(): label for label in labels}
    if word.lower() in lower:
        return lower[word.lower()]
    starting = [label for key, label in lower.items() if key.startswith(word.lower() + " ")]
    if len(starting) == 1 and len(word) >= 3:  # "black" for "black or other"
        return starting[0]
    close = difflib.get_close_matches(word.lower(), list(lower), n=1, cutoff=0.85)
    return lower[close[0]] if close else None


def _label(column: str, value: str, values: dict[str, list[str]]) -> str:
    """``value`` spelt as the column's label (case as stored) when it names one."""
    labels = values.get(column)
    if labels:
        found = _match_label(value, labels)
        if found is not None:
            return found
    return value
