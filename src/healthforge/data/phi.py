"""Screening for direct identifiers (PHI) and guessing each column's role.

Direct identifiers (names, SSNs, emails, phone numbers, street addresses, record IDs,
exact dates of birth) are never modelled. Detection uses the column name and, more
importantly, the content, so that a column called ``contact`` full of e-mail
addresses is caught too. Person names are recognised by header in several languages
and by looking values up in a list of first and last names (:mod:`.person_names`).
Heuristics err on the side of flagging: the user can override a role in the schema file.
"""

from __future__ import annotations

import re

import pandas as pd

from healthforge.data.person_names import (
    header_names_a_thing,
    header_says_name,
    values_are_person_names,
)

_SAMPLE = 1000
_CONTENT_SHARE = 0.8  # share of non-missing values that must match a content pattern

_CONTENT_PATTERNS: dict[str, re.Pattern[str]] = {
    "e-mail addresses": re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$"),
    "social security numbers": re.compile(r"^\d{3}-\d{2}-\d{4}$"),
    "phone numbers": re.compile(r"^\+?(\d[\s().-]*){10,14}$"),
    "street addresses": re.compile(
        r"^\d+[A-Za-z]?\s+([A-Za-z0-9.'-]+\s+){0,5}"
        r"(st|street|ave|avenue|rd|road|blvd|boulevard|ln|lane|dr|drive|way|ct|court|pl|place|"
        r"terrace|ter|hwy|highway|pkwy|parkway|sq|square)\b\.?",
        re.IGNORECASE,
    ),
    "person names": re.compile(r"^[A-Z][a-z'-]+(\s[A-Z]\.?)?(\s[A-Z][a-z'-]+)+$"),
    "URLs or IP addresses": re.compile(r"^(https?://\S+|\d{1,3}(\.\d{1,3}){3})$"),
}

_VARIED_ONLY = frozenset({"person names", "street addresses"})
_ID_NAME = re.compile(
    r"(^|[_\W])(id|ids|uid|uuid|guid|mrn|ssn|seqn|nhs|npi)($|[_\W\d])"
    r"|patient.?(id|no|num|number)|record.?(id|no|num|number)|medical.?record|subject.?(id|no)"
    r"|identifier|account.?(no|num|number)|encounter.?id|visit.?id|social.?security",
    re.IGNORECASE,
)
_CONTACT_NAME = re.compile(r"e-?mail|phone|mobile|fax|telephone|street|address|url|ip_?addr", re.I)
_BIRTH_DATE_NAME = re.compile(r"\bdob\b|birth.?date|date.?of.?birth|birthday|^dob", re.IGNORECASE)

_QI_NAME = re.compile(
    r"^(age|ages|age_?group|sex|gender|race|ethnicity|ethnic|white|region|birthplace|birth_?place"
    r"|country|state|county|city|zip|zipcode|zip_?code|postcode|postal_?code|marital|"
    r"marital_?status|education|occupation|income|language|religion|nationality)$",
    re.IGNORECASE,
)
_SENSITIVE_NAME = re.compile(
    r"death|died|dead|mortality|diagnos|disease|hiv|aids|cancer|tumou?r|diabet|hepatitis|"
    r"pregnan|abortion|psych|depress|mental|suicid|drug|alcohol|smok|std|sti|outcome|"
    r"disorder|syndrome|infection|hiv|genetic|genotype|sexual",
    re.IGNORECASE,
)


def identifier_reason(name: str, series: pd.Series, kind: str) -> str | None:
    """Why ``series`` looks like a direct identifier, or ``None`` if it does not."""
    nonnull = series.dropna()
    n = len(nonnull)
    if n == 0:
        return None
    unique_share = nonnull.nunique() / n
    textual = kind in {"text", "categorical"}
    content = _content_match(nonnull) if textual else None
    said = header_says_name(name) if textual else None
    if said == "person":
        # first_name, Nachname, apellidos...: names however often they repeat
        return "column name says person names"
    if said == "name" and (unique_share > 0.3 or content or values_are_person_names(nonnull)):
        return "column name and values suggest person names"
    if textual and _CONTACT_NAME.search(name) and (unique_share > 0.3 or content):
        return "column name suggests contact details (e-mail, phone or address)"
    if kind == "datetime" and _BIRTH_DATE_NAME.search(name):
        return "exact dates of birth are direct identifiers (derive an age instead)"
    if _ID_NAME.search(name) and unique_share > 0.5:
        return "column name and unique values suggest a record identifier"
    # e-mails, SSNs, phones and URLs identify whatever their frequency; names and
    # addresses only when varied enough not to be, say, a list of city names
    if content and (content not in _VARIED_ONLY or unique_share > 0.3):
        return f"values look like {content}"
    if textual and not header_names_a_thing(name) and values_are_person_names(nonnull):
        return "values look like person names (most are known first or last names)"
    if textual and unique_share > 0.95 and n >= 20:
        sample = nonnull.astype(str).str.strip().head(_SAMPLE)
        if sample.str.fullmatch(r"[A-Za-z]*[-_]?\d{3,}").mean() > 0.9:
            return "values are unique codes that look like record identifiers"
    if kind == "integer" and n >= 20 and unique_share == 1.0:
        values = pd.to_numeric(nonnull)
        if values.max() - values.min() + 1 == n or values.is_monotonic_increasing:
            return "unique consecutive integers look like a row or record number"
    return None


def _content_match(nonnull: pd.Series) -> str | None:
    """The kind of direct identifier most values look like, if any."""
    sample = nonnull.astype(str).str.strip()
    if len(sample) > _SAMPLE:
        sample = sample.sample(_SAMPLE, random_state=0)
    for label, pattern in _CONTENT_PATTERNS.items():
        if sample.str.match(pattern).mean() >= _CONTENT_SHARE:
            return label
    return None


def guess_role(name: str) -> str:
    """Role of a non-identifier column from its name: quasi-identifier, sensitive or feature."""
    if _QI_NAME.search(name.strip()):
        return "quasi_identifier"
    if _SENSITIVE_NAME.search(name):
        return "sensitive"
    return "feature"
