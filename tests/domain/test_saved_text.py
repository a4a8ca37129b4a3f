"""Which saved texts name a person, and what is left of them once the person is erased."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.domain.erasure import ERASED_TEXT
from app.domain.saved_text import PersonTexts

ANN = PersonTexts.of(
    [
        {"values": {"name": "Ann  Smith", "email": "Ann@Example.org", "city": "Brussels"}},
        {"changes": {"phone": "+32 470 12 34 56", "function": "CEO", "vat": "BE"}},
    ]
)


def test_a_value_is_found_whatever_its_case_and_spaces() -> None:
    assert ANN.names_in("customers of ANN SMITH")
    assert ANN.names_in("ann   smith")
    assert ANN.names_in("write to ann@example.ORG")
    assert ANN.mentioned({"or": [{"email": "ann@example.org"}, {"countryCode": "BE"}]})


def test_a_phone_number_is_found_by_its_digits() -> None:
    assert ANN.names_in("+32470123456")
    assert ANN.names_in("call 0032 (470) 12-34-56")
    assert not ANN.names_in("470 12")


def test_values_that_name_nobody_are_not_searched() -> None:
    # A city, a job title, a value too short (a country code) name no one.
    assert not ANN.names_in("Brussels customers")
    assert not ANN.names_in("every CEO")
    assert not ANN.mentioned({"countryCode": "BE", "isCustomer": True})
    assert not ANN.names_in("Anna Smithers")
    assert not PersonTexts.of([{"values": {"name": None, "email": None}}])


def test_erasing_replaces_the_value_and_keeps_the_rest() -> None:
    assert ANN.erased("Customers of ann smith (VIP)") == f"Customers of {ERASED_TEXT} (VIP)"
    assert ANN.erased({"or": [{"email": "ANN@example.org"}, {"countryCode": "BE"}]}) == {
        "or": [{"email": ERASED_TEXT}, {"countryCode": "BE"}]
    }
    # A text naming a phone number goes whole: its digits may be spread over it.
    assert ANN.erased("paused for +32 470 12 34 56, ask Bob") == ERASED_TEXT
    assert ANN.erased({"countryCode": "BE"}) == {"countryCode": "BE"}


@given(st.text(max_size=60), st.text(max_size=60))
def test_what_is_erased_names_the_person_no_more(before: str, after: str) -> None:
    text = before + "Ann Smith" + after
    assert ANN.names_in(text)
    assert not ANN.names_in(ANN.erased(text))
