"""Direct identifiers are found by name and content, and never modelled."""

from __future__ import annotations

import pandas as pd
from tests.fixtures_data import make_messy

from healthforge.data import infer_schema, prepare
from healthforge.data.phi import identifier_reason


def test_every_direct_identifier_in_a_messy_extract_is_flagged() -> None:
    schema = infer_schema(make_messy())
    flagged = {c.name for c in schema.identifiers}
    assert flagged == {"patient_id", "name", "email", "ssn", "phone", "address", "dob"}
    assert "dates of birth" in schema["dob"].reason
    assert schema["sex"].role == "quasi_identifier" and schema["region"].role == "quasi_identifier"
    assert schema["diabetes"].role == "sensitive"


def test_identifiers_found_by_content_under_innocent_names() -> None:
    n = 60
    df = pd.DataFrame(
        {
            "contact": [f"person{i}@mail.com" for i in range(n)],
            "c2": [f"{100 + i}-{10 + i % 80}-{1000 + i}" for i in range(n)],
            "who": [
                ["Ann Lee", "Bo Diaz", "Cy Park", "Di Moss", "Ed Hart"][i % 5] + f"{'e' * (i // 5)}"
                for i in range(n)
            ],
            "row": range(1, n + 1),
            "value": [i % 7 for i in range(n)],
        }
    )
    reasons = {c: identifier_reason(c, df[c], "categorical") for c in ("contact", "c2")}
    assert "e-mail" in reasons["contact"] and "social security" in reasons["c2"]
    schema = infer_schema(df)
    assert schema["row"].role == "identifier"  # 1..n is a row number
    assert schema["value"].role != "identifier"


def test_identifiers_excluded_with_a_message() -> None:
    prepared = prepare(make_messy())
    assert not set(prepared.frame.columns) & {"name", "email", "ssn", "patient_id", "dob"}
    notices = " ".join(prepared.notices())
    assert "direct identifiers" in notices and "email" in notices


def test_ordinary_clinical_columns_are_not_identifiers() -> None:
    df = pd.DataFrame({"hba1c": [5.1, 6.2, 7.3, 5.5] * 30, "ward": ["A", "B", "C"] * 40})
    assert not infer_schema(df).identifiers
