"""Validation and normalisation of a partner's coordinates, field by field."""

from __future__ import annotations

import pytest

from app.domain import contact_fields as cf

# -- email ------------------------------------------------------------------------------


def test_email_domain_is_lowercased_and_local_part_kept() -> None:
    assert cf.normalize_email("  John.Doe@Example.COM ") == "John.Doe@example.com"


def test_email_without_at_sign_is_refused() -> None:
    with pytest.raises(cf.FieldInvalid, match="'not-an-email' is not a valid email address"):
        cf.normalize_email("not-an-email")


def test_email_whose_domain_has_no_dot_is_refused() -> None:
    with pytest.raises(cf.FieldInvalid, match="not a valid email address"):
        cf.normalize_email("someone@localhost")


def test_email_domain_characters_are_judged_the_same_on_every_call() -> None:
    """The per-character check of email-validator is cached: a character refused once is
    refused again, and an accepted internationalised domain stays accepted."""
    for _ in range(2):
        with pytest.raises(cf.FieldInvalid, match="not a valid email address"):
            cf.normalize_email("someone@exa\u00a0mple.com")  # a no-break space
        assert cf.normalize_email("someone@Bücher.example") == "someone@bücher.example"


def test_email_for_matching_is_all_lowercase() -> None:
    assert cf.email_for_matching("John.Doe@example.com") == "john.doe@example.com"
    assert cf.email_for_matching(None) is None


# -- phone ------------------------------------------------------------------------------


def test_national_phone_becomes_e164_with_the_country_as_default_region() -> None:
    assert cf.normalize_phone("02 513 11 22", "BE") == "+3225131122"


def test_international_phone_becomes_e164_without_a_region() -> None:
    assert cf.normalize_phone("+32 2 513 11 22", None) == "+3225131122"


def test_national_phone_without_a_region_is_kept_as_typed() -> None:
    assert cf.normalize_phone("02 513 11 22", None) == "02 513 11 22"


def test_unparseable_phone_with_digits_is_kept_as_typed() -> None:
    assert cf.normalize_phone("ask reception, ext 12", "BE") == "ask reception, ext 12"


def test_phone_that_parses_but_is_not_valid_is_kept_as_typed() -> None:
    assert cf.normalize_phone(" 12345 ", "BE") == "12345"


def test_phone_without_digits_is_refused() -> None:
    with pytest.raises(cf.FieldInvalid, match="'n/a' is not a phone number: it has no digits"):
        cf.normalize_phone("n/a", "BE")


def test_phone_in_e164_is_flagged_normalized() -> None:
    assert cf.phone_is_normalized("+3225131122") is True


@pytest.mark.parametrize("stored", ["02 513 11 22", "+12345", "", None])
def test_phone_kept_as_typed_is_flagged_not_normalized(stored: str | None) -> None:
    assert cf.phone_is_normalized(stored) is False


# -- website ----------------------------------------------------------------------------


def test_website_without_scheme_gets_https() -> None:
    assert cf.normalize_website(" example.com ") == "https://example.com"


def test_website_with_http_scheme_is_kept() -> None:
    assert cf.normalize_website("http://example.com/about") == "http://example.com/about"


def test_website_with_spaces_is_refused() -> None:
    with pytest.raises(cf.FieldInvalid, match=r"'exa mple\.com' is not a web address"):
        cf.normalize_website("exa mple.com")


@pytest.mark.parametrize("value", ["ftp://example.com", "localhost", "https://"])
def test_website_that_is_not_an_http_address_is_refused(value: str) -> None:
    with pytest.raises(cf.FieldInvalid, match="is not a web address"):
        cf.normalize_website(value)


# -- country and state ------------------------------------------------------------------


def test_country_code_is_case_insensitive() -> None:
    assert cf.normalize_country(" be ") == "BE"


@pytest.mark.parametrize("value", ["XX", "BEL", "Belgium"])
def test_country_that_is_not_an_alpha2_code_is_refused(value: str) -> None:
    with pytest.raises(cf.FieldInvalid, match="is not an ISO 3166-1 alpha-2 country code"):
        cf.normalize_country(value)


def test_state_of_the_country_is_accepted() -> None:
    assert cf.normalize_state("ca", "US") == "CA"


def test_state_of_another_country_is_refused() -> None:
    with pytest.raises(cf.FieldInvalid, match="'QC' is not a state of country US"):
        cf.normalize_state("QC", "US")


def test_state_without_a_country_is_refused() -> None:
    with pytest.raises(cf.FieldInvalid, match="a state needs a country"):
        cf.normalize_state("CA", None)


def test_full_iso_3166_2_state_code_is_stored_as_its_suffix() -> None:
    assert cf.normalize_state("US-CA", "US") == "CA"


def test_full_state_code_of_another_country_is_refused() -> None:
    with pytest.raises(cf.FieldInvalid, match="does not belong to country US"):
        cf.normalize_state("CA-QC", "US")


# -- language and time zone -------------------------------------------------------------


def test_locale_in_odoo_spelling_is_accepted() -> None:
    assert cf.normalize_lang("fr_FR") == "fr_FR"


def test_locale_with_dash_and_lowercase_region_is_respelled() -> None:
    assert cf.normalize_lang("fr-fr") == "fr_FR"


def test_unknown_language_is_refused() -> None:
    with pytest.raises(cf.FieldInvalid, match="unknown language 'zz'"):
        cf.normalize_lang("zz_ZZ")


def test_known_language_with_unknown_region_is_refused() -> None:
    with pytest.raises(cf.FieldInvalid, match="unknown country 'XX'"):
        cf.normalize_lang("en_XX")


def test_language_name_instead_of_code_is_refused() -> None:
    with pytest.raises(cf.FieldInvalid, match="is not a language code like fr_FR"):
        cf.normalize_lang("french")


def test_iana_time_zone_is_accepted() -> None:
    assert cf.normalize_tz(" Europe/Brussels ") == "Europe/Brussels"


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(cf.FieldInvalid, match="'Mars/Base' is not an IANA time zone"):
        cf.normalize_tz("Mars/Base")


# -- VAT --------------------------------------------------------------------------------


def test_valid_vat_with_its_country_prefix_is_accepted() -> None:
    assert cf.normalize_vat("BE0477472701", None) == "BE0477472701"


def test_vat_is_stored_compact_and_upper_case() -> None:
    assert cf.normalize_vat("be 0477.472.701", None) == "BE0477472701"


def test_vat_without_prefix_takes_the_partners_country_prefix() -> None:
    assert cf.normalize_vat("0477472701", "BE") == "BE0477472701"


def test_invalid_vat_is_refused_naming_the_country_of_its_prefix() -> None:
    with pytest.raises(cf.FieldInvalid, match="'BE123' is not a valid VAT number for country BE"):
        cf.normalize_vat("BE123", None)


def test_invalid_vat_without_prefix_is_refused_naming_the_partners_country() -> None:
    with pytest.raises(cf.FieldInvalid, match=r"for country BE \(the partner's\)"):
        cf.normalize_vat("123", "BE")


def test_slash_means_no_vat_and_is_kept() -> None:
    assert cf.normalize_vat(" / ", "BE") == "/"


def test_blank_vat_is_refused() -> None:
    with pytest.raises(cf.FieldInvalid, match="an empty VAT number"):
        cf.normalize_vat("   ", "BE")


def test_vat_of_a_country_without_a_stdnum_rule_is_kept_as_typed() -> None:
    assert cf.normalize_vat("12-3456789", "US") == "12-3456789"


def test_greek_vat_is_stored_with_the_el_prefix() -> None:
    assert cf.normalize_vat("094259216", "GR") == "EL094259216"


def test_vat_with_a_prefix_that_is_no_country_is_refused() -> None:
    with pytest.raises(cf.FieldInvalid):
        cf.normalize_vat("ZZ0477472701", "BE")


# -- country list -----------------------------------------------------------------------


def test_countries_without_search_lists_every_country_sorted_by_name() -> None:
    found = cf.countries()
    assert len(found) > 240
    assert ("BE", "Belgium") in found
    assert [name for _, name in found] == sorted(name for _, name in found)


def test_countries_search_matches_part_of_the_name_case_insensitively() -> None:
    assert cf.countries("BEL") == [("BY", "Belarus"), ("BE", "Belgium"), ("BZ", "Belize")]


def test_countries_search_matches_the_exact_code() -> None:
    assert ("DE", "Germany") in cf.countries("de")


def test_countries_search_with_no_match_is_empty() -> None:
    assert cf.countries("atlantis") == []
