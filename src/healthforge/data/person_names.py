"""Is a column a person's name? Decided from its header and from its values.

The header test splits a column name into lower-case words (any separator, camelCase,
accents dropped) and looks for a word that means a person's name in one of several
languages (``first_name``, ``Nachname``, ``prénom``, ``apellidos``, ``efternamn``...).
A bare ``name`` word is qualified by its neighbour: ``patient_name`` is a person's,
``drug_name`` and ``name_of_test`` are not, and ``name`` alone is only a candidate that
the values must confirm.

The value test looks the values up, case-insensitively, in the first and last names that
Faker (MIT licence, a dependency) ships for its ~90 locales: a column is a person-name
column when most of its distinct values *and* most of its rows are known names, with at
least ``MIN_DISTINCT_NAMES`` different names (a few coincidences such as ``white`` or
``rose`` in a category list must not trigger it).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import unicodedata
from functools import cache
from typing import Literal

import pandas as pd

NAME_SHARE = 0.5  # share of distinct values and of rows that must be known names
MIN_DISTINCT_NAMES = 10  # fewer different names than this is a category list, not people
_MAX_DISTINCT = 20_000  # distinct values looked up (the most frequent ones)

# one word that on its own means a person's (first, last, full...) name
_PERSON_WORDS = frozenset(
    {
        # English
        "firstname", "firstnames", "lastname", "lastnames", "middlename", "givenname",
        "givennames", "familyname", "maidenname", "fullname", "patientname", "birthname",
        "nickname", "surname", "surnames", "forename", "forenames", "fname", "lname",
        # German
        "vorname", "vornamen", "nachname", "familienname", "geburtsname", "rufname",
        # French
        "prenom", "prenoms", "patronyme",
        # Spanish, Portuguese, Italian
        "apellido", "apellidos", "sobrenome", "apelido", "apelidos", "cognome", "cognomi",
        # Dutch
        "voornaam", "voornamen", "achternaam", "familienaam",
        # Danish, Norwegian, Swedish
        "fornavn", "efternavn", "etternavn", "mellemnavn", "mellomnavn", "fornamn",
        "efternamn", "tilltalsnamn", "mellannamn",
        # Finnish, Polish, Czech
        "etunimi", "sukunimi", "imie", "nazwisko", "prijmeni",
    }
)  # fmt: skip
# a word that means "name" but says nothing about whose
_NAME_WORDS = frozenset(
    {"name", "names", "nom", "noms", "nombre", "nombres", "nome", "nomi", "naam", "navn",
     "namn", "jmeno", "nimi"}
)  # fmt: skip
# next to a name word, these make it a person's name
_PERSON_QUALIFIERS = frozenset(
    {
        "first", "last", "middle", "given", "family", "maiden", "full", "birth", "sur",
        "fore", "christian", "nick", "legal", "preferred", "real", "patient", "patients",
        "pt", "person", "personal", "mother", "mothers", "father", "fathers", "parent",
        "spouse", "partner", "guardian", "kin", "relative", "contact", "emergency",
        "doctor", "physician", "nurse", "surgeon", "clinician", "gp", "caregiver", "carer",
        "member", "subscriber", "client", "resident", "participant", "subject", "donor",
        "recipient", "baby", "child", "infant", "employee", "staff",
        "paciente", "paziente", "patienten", "patiente", "famille", "familia", "famiglia",
        "segundo", "primer", "completo", "complet", "vollstandiger",
    }
)  # fmt: skip
# next to a name word, these make it the name of a thing, not of a person
_THING_QUALIFIERS = frozenset(
    {
        "drug", "drugs", "medication", "medications", "med", "meds", "medicine",
        "medicament", "medicamento", "farmaco", "arzneimittel", "medikament", "product",
        "brand", "generic", "trade", "chemical", "substance", "compound", "ingredient",
        "vaccine", "hospital", "hopital", "ospedale", "krankenhaus", "ziekenhuis", "clinic",
        "klinik", "clinica", "facility", "site", "center", "centre", "ward", "unit",
        "department", "dept", "service", "practice", "institution", "organisation",
        "organization", "org", "company", "manufacturer", "vendor", "supplier", "payer",
        "insurer", "insurance", "plan", "lab", "laboratory", "test", "tests", "assay",
        "panel", "analyte", "procedure", "operation", "diagnosis", "diagnoses", "condition",
        "disease", "disorder", "symptom", "finding", "result", "allergy", "allergen", "food",
        "code", "icd", "snomed", "loinc", "file", "path", "user", "host", "domain", "server",
        "device", "machine", "table", "column", "field", "variable", "var", "feature",
        "attribute", "study", "trial", "project", "program", "programme", "protocol",
        "group", "arm", "cohort", "category", "class", "type", "event", "item", "scale",
        "questionnaire", "instrument", "measure", "specimen", "sample", "country", "state",
        "city", "county", "region", "town", "district", "province", "street", "place",
        "location", "species", "strain", "gene", "protein", "pathogen", "organism", "virus",
        "bacteria", "tissue", "display", "short", "long", "common", "scientific", "official",
        "dataset", "source", "model", "version", "app", "application", "tag", "label", "key",
        "exam", "examination", "scan", "image", "series", "modality", "room", "bed", "team",
        "specialty", "speciality", "role", "job", "title", "reason", "order", "visit",
    }
)  # fmt: skip
_LINKS = frozenset({"of", "the", "de", "du", "des", "del", "della", "di", "da", "do", "dos",
                    "van", "von", "der", "den", "het", "la", "le"})  # fmt: skip

# Faker's lists hold names that are also everyday category values in health tables
# (historic US first names such as "Male", "Unknown", "True"; surnames such as "White").
# They are not counted as names, so a category column made of them cannot reach the share.
_NOT_COUNTED = frozenset(
    {
        "male", "female", "unknown", "true", "false", "none", "other", "yes", "white",
        "black", "brown", "green", "gray", "grey", "red", "blue", "low", "high", "normal",
        "good", "fair", "poor", "rose", "may", "june", "april", "august", "march", "north",
        "south", "east", "west", "ward", "urban", "rural", "young", "old", "long", "short",
        "little", "single", "never", "mild", "severe", "stable", "early", "late", "case",
        "control", "day", "home", "rich", "bond", "price", "cash", "child", "baby",
    }
)  # fmt: skip
_IGNORED_TOKENS = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "jr", "sr", "ii", "iii",
                             "iv", "md", "phd"})  # fmt: skip


def _fold(text: str) -> str:
    """Lower case without accents: ``Prénom`` -> ``prenom``, ``Förnamn`` -> ``fornamn``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def header_words(column: str) -> list[str]:
    """The words of a column name: separators, camelCase and digits split, accents dropped."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", column)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return re.findall(r"[a-z]+", _fold(spaced))


def header_says_name(column: str) -> Literal["person", "name"] | None:
    """``"person"`` if the column name means a person's name, ``"name"`` if it is a bare or
    unqualified name (the values must decide), ``None`` if it names something else."""
    words = header_words(column)
    if any(w in _PERSON_WORDS for w in words):
        return "person"
    for i, word in enumerate(words):
        if word not in _NAME_WORDS:
            continue
        before = words[i - 1] if i > 0 else None
        after = next((w for w in words[i + 1 :] if w not in _LINKS), None)
        # the word in front qualifies an English-style name (drug_name); the one after a
        # Romance-style one (nom_de_famille, name_of_test)
        for qualifier in (before, after):
            if qualifier in _PERSON_QUALIFIERS:
                return "person"
            if qualifier in _THING_QUALIFIERS:
                return None
        return "name"
    return None


def header_names_a_thing(column: str) -> bool:
    """The column name has a word for a thing (``ward``, ``drug``, ``county``...): its values
    are then not checked against the name list, as wards and counties are often named after
    people."""
    return any(w in _THING_QUALIFIERS for w in header_words(column))


@cache
def known_names() -> frozenset[str]:
    """Every first and last name in Faker's person providers, folded (see :func:`_fold`).

    Loaded on first use (about a second) and kept for the life of the process.
    """
    import faker.providers.person as person

    names: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        for attribute in dir(provider):
            if not attribute.startswith(("first_name", "last_name")):
                continue
            values = getattr(provider, attribute)
            if isinstance(values, (tuple, list, dict)):  # dicts are name -> weight
                names.update(_fold(v).strip() for v in values if isinstance(v, str))
    return frozenset(names - _NOT_COUNTED - {""})


def _is_known_name(value: str, names: frozenset[str]) -> bool:
    """``value`` is one or more known names (``ann``, ``Lee, Ann B.``, ``Jean-Luc Picard``)."""
    tokens = [t.strip(".'") for t in re.split(r"[\s,;/]+", _fold(value))]
    tokens = [t for t in tokens if len(t) > 1 and t not in _IGNORED_TOKENS]
    if not tokens:
        return False
    return all(t in names or all(p in names for p in re.split(r"[-']", t) if p) for t in tokens)


def known_name_shares(nonnull: pd.Series) -> tuple[float, float, int]:
    """Share of distinct values and of rows that are known names, and how many distinct."""
    counts = nonnull.astype(str).str.strip().value_counts()
    if counts.empty:
        return 0.0, 0.0, 0
    counts = counts.head(_MAX_DISTINCT)
    names = known_names()
    hit = pd.Series([_is_known_name(v, names) for v in counts.index], index=counts.index)
    return float(hit.mean()), float(counts[hit].sum() / counts.sum()), int(hit.sum())


def values_are_person_names(nonnull: pd.Series) -> bool:
    """Most distinct values and most rows are known first or last names, and enough differ."""
    if nonnull.nunique() < MIN_DISTINCT_NAMES:
        return False  # checked first: a short category list never loads the name list
    distinct_share, row_share, n_names = known_name_shares(nonnull)
    return (
        distinct_share >= NAME_SHARE and row_share >= NAME_SHARE and n_names >= MIN_DISTINCT_NAMES
    )
