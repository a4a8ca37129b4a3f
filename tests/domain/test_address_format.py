"""Postal address layout per country."""

from __future__ import annotations

from app.domain.address_format import format_address


def address(**parts: str) -> dict[str, str | None]:
    """Every part the API passes, missing ones as None."""
    keys = ("street", "street2", "city", "zip", "state_code", "state_name", "country_code")
    blank: dict[str, str | None] = dict.fromkeys((*keys, "country_name"))
    return blank | parts


def test_us_address_puts_city_state_and_zip_on_one_line() -> None:
    laid_out = format_address(
        address(
            street="1600 Amphitheatre Pkwy",
            city="Mountain View",
            state_code="CA",
            state_name="California",
            zip="94043",
            country_code="US",
            country_name="United States",
        )
    )
    assert laid_out == "1600 Amphitheatre Pkwy\nMountain View, CA 94043\nUnited States"


def test_belgian_address_uses_the_default_layout_zip_before_city() -> None:
    laid_out = format_address(
        address(
            street="Rue de la Loi 16",
            zip="1000",
            city="Bruxelles",
            state_code="BRU",
            state_name="Brussels-Capital Region",
            country_code="BE",
            country_name="Belgium",
        )
    )
    assert laid_out == "Rue de la Loi 16\n1000 Bruxelles\nBrussels-Capital Region\nBelgium"


def test_missing_parts_leave_no_blank_lines() -> None:
    laid_out = format_address(
        address(street="Rue de la Loi 16", city="Bruxelles", country_code="BE")
    )
    assert laid_out == "Rue de la Loi 16\nBruxelles"


def test_us_address_without_city_has_no_leading_comma() -> None:
    laid_out = format_address(
        address(street="1 Main St", state_code="CA", zip="94043", country_code="US")
    )
    assert laid_out == "1 Main St\nCA 94043"


def test_us_address_without_state_and_zip_has_no_trailing_comma() -> None:
    laid_out = format_address(address(city="Springfield", country_code="US"))
    assert laid_out == "Springfield"


def test_surrounding_and_repeated_spaces_are_collapsed() -> None:
    laid_out = format_address(address(zip=" 1000 ", city="  Bruxelles  ", country_code="BE"))
    assert laid_out == "1000 Bruxelles"


def test_no_address_parts_give_no_address() -> None:
    assert format_address(address()) is None


def test_country_code_and_state_alone_are_no_address() -> None:
    assert format_address(address(country_code="US", state_code="CA")) is None


def test_country_name_alone_is_an_address() -> None:
    assert format_address(address(country_code="BE", country_name="Belgium")) == "Belgium"
