"""Picking a request's locale: Accept-Language with q-values, a client's `locale`, and
the bounds an attacker's header meets (length, ranges, the caches)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app import locales
from app.locales import names
from app.schema.relationship import summaries


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        (None, "en"),
        ("", "en"),
        ("fr-FR", "fr"),
        ("fr-CH, fr;q=0.9, en;q=0.8", "fr"),
        ("de;q=0.5, fr;q=0.9", "fr"),
        ("xx, nl-BE", "nl"),
        ("es-419", "es"),
        ("*", "en"),
        ("ja, zh;q=0.8", "en"),
        ("fr;q=0, de", "de"),
        ("fr;q=abc, de;q=0.1", "de"),
    ],
)
def test_accept_language_picks_the_shipped_locale_the_client_prefers(
    header: str | None, locale: str
) -> None:
    assert locales.negotiate(header) == locale


@pytest.mark.parametrize(
    ("given", "locale"),
    [("fr", "fr"), ("fr-BE", "fr"), ("FR_fr", "fr"), ("de_CH", "de"), ("xx", None), ("", None)],
)
def test_a_clients_locale_names_a_shipped_one_or_none(given: str, locale: str | None) -> None:
    assert locales.pick(given) == locale


def test_an_attackers_header_is_read_only_up_to_its_bounds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tried: list[str] = []
    real = locales.pick

    def counting(value: str | None) -> str | None:
        tried.append(value or "")
        return real(value)

    monkeypatch.setattr(locales, "pick", counting)
    assert locales.negotiate(",".join(["zz"] * 10_000 + ["fr"])) == "en"
    assert len(tried) <= locales.MAX_LANGUAGE_RANGES
    tried.clear()
    assert locales.negotiate("fr-" + "x" * 100_000) == "en"
    assert sum(len(t) for t in tried) <= locales.MAX_ACCEPT_LANGUAGE


def test_the_caches_stay_bounded_whatever_clients_send() -> None:
    for n in range(2_000):
        locales.negotiate(f"x{n}-{n}, fr-{n}")
        locales.pick(f"q{n}")
    assert locales._pick.cache_info().currsize <= 256
    for locale in (*locales.LOCALES, "xx", "fr-" + "y" * 50):
        names.country_name("DE", locale)
        locales.translate("Prospect", locale)
    assert locales.translations.cache_info().currsize <= len(locales.LOCALES)
    assert names._standard.cache_info().currsize <= 4 * len(locales.LOCALES)


@pytest.mark.parametrize(
    ("kind", "english", "french"),
    [
        ("PARTNER_CREATED", "Invoice Address created", "Adresse de facturation créé"),
        ("PARTNER_UPDATED", "Changed email, phone", "Modifié : email, phone"),
        ("PARTNER_ABSORBED", "Absorbed 2 partner(s); took email", None),
        ("ACTIVITY_SCHEDULED", "call planned for 2026-12-31", "call prévu pour le 2026-12-31"),
        ("DOCUMENT_RECORDED", "Invoice INV/1: 10.00 EUR", "Invoice INV/1: 10.00 EUR"),
        ("AFFILIATION_UPDATED", "Affiliation changed: role", "Affiliation modifiée : role"),
        (
            "AFFILIATION_ENDED",
            "Affiliation ended on 2026-12-31",
            "Affiliation terminée le 2026-12-31",
        ),
        (
            "BANK_ACCOUNT_MOVED",
            "Bank account moved to another partner",
            "Compte bancaire déplacé vers un autre partenaire",
        ),
        ("NOTE", "Note edited", "Note modifiée"),
    ],
)
def test_a_stored_timeline_summary_is_said_in_the_locale(
    kind: str, english: str, french: str | None
) -> None:
    said = summaries.translated(kind, english, "fr")
    assert said == (french or "2 partenaire(s) absorbé(s) ; repris : email")
    assert summaries.translated(kind, english, "en") == english


def test_every_kind_of_timeline_entry_has_its_summaries_listed() -> None:
    """A new kind of entry (a new event) is said in English until its templates are added
    to app/schema/relationship/summaries.py; this names it."""
    from app.schema.relationship.enums import TimelineKind

    untranslated = {k.value for k in TimelineKind} - set(summaries.SUMMARIES)
    assert untranslated == {"DOCUMENT_RECORDED"}  # the document's kind, reference, amount


@given(st.text(max_size=80))
@settings(max_examples=300, deadline=None)
def test_any_header_or_locale_a_client_sends_picks_a_shipped_locale(text: str) -> None:
    assert locales.negotiate(text) in locales.LOCALES
    assert locales.pick(text) in (*locales.LOCALES, None)
