"""Person-name columns are never modelled (issue #25, defect 2): by header and by content."""

from __future__ import annotations

import pytest

from tests.mutations.catalogue import mutation

NAMES = "tests/data/test_person_names.py"
HEADER = f"{NAMES}::test_a_person_header_is_an_identifier_however_often_names_repeat"
CONTENT = f"{NAMES}::test_lower_case_names_under_an_innocent_header_are_found_by_content"
END_TO_END = f"{NAMES}::test_generate_excludes_person_names_and_never_writes_one"
COINCIDENCES = f"{NAMES}::test_coincidental_names_in_category_lists_do_not_trigger"
MEDICAL = f"{NAMES}::test_only_the_fake_names_in_medicaldata_are_person_names"


@mutation(
    "names-header-off",
    "a header such as Nachname or first_name no longer marks a column as person names",
    tests=[HEADER, MEDICAL],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.data import phi

    patch.setattr(phi, "header_says_name", lambda column: None)


@mutation(
    "names-content-off",
    "values are no longer looked up in the name list: names under other headers are modelled",
    tests=[CONTENT, END_TO_END],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.data import phi

    patch.setattr(phi, "values_are_person_names", lambda nonnull: False)


@mutation(
    "names-share-lowered",
    "a column counts as names when 30% (not 50%) of its values are known names",
    tests=[COINCIDENCES],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.data import person_names

    patch.setattr(person_names, "NAME_SHARE", 0.3)


@mutation(
    "names-stoplist-off",
    "category words that Faker also lists as names (male, white, rose...) count as names",
    tests=[COINCIDENCES],
)
def _(patch: pytest.MonkeyPatch) -> None:
    from healthforge.data import person_names

    person_names.known_names.cache_clear()
    patch.setattr(person_names, "_NOT_COUNTED", frozenset())
