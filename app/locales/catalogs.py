"""Keeping the catalogs in step with the code, with Babel's extraction and catalog tools.

    python -m app.locales.catalogs update   # add the code's new messages to every catalog
    python -m app.locales.catalogs check    # list what a catalog misses (exit 1)

`update` extracts every message from `app/` (the keywords below: a `Message(...)`, the
message argument of the domain's error helpers) and merges it into each
`app/locales/<lang>/LC_MESSAGES/partnerbook.po`: new msgids arrive with an empty
translation, for a translator to fill in; messages the code no longer says are dropped;
no source locations are written, so branches that add messages merge cleanly.

Babel's own command line reads the same settings from pyproject.toml (`[tool.babel]`):
`pybabel extract` writes build/partnerbook.pot; `pybabel update` merges it (it also
writes source locations, which `update` here leaves out).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from app.locales import DIRECTORY, DOMAIN, MESSAGE_LOCALES

SOURCES = DIRECTORY.parent
KEYWORDS: dict[str, tuple[int, ...]] = {
    "Message": (1,),
    "validation": (1,),
    "not_found": (1,),
    "conflict": (1,),
    "archived": (1,),
    "invalid_hierarchy": (1,),
    "single": (2,),  # DomainError.single(code, message, *field)
    "FieldError": (3,),  # FieldError(field, code, message)
    "summary": (2,),  # app/schema/relationship/summaries.py
    "Problem": (3,),  # an import report's row problem (line, column, message)
    "fail": (2,),  # the local fail(field or code, message) of validators that collect errors
    "Invalid": (1,),  # app/domain/catalog.py
    "FieldInvalid": (1,),  # app/domain/contact_fields.py
    "ClientError": (1,),  # a coded top-level error (app/schema/errors.py)
    "refuse": (2,),  # OdooRow.refuse(column, message): the import report
    "warn_about": (2,),  # OdooRow.warn_about(column, message)
    "limit_error": (1,),  # a LIMIT_EXCEEDED error (app/schema/limits/rules.py)
}
UPDATE_COMMAND = "python -m app.locales.catalogs update"


def catalog_path(locale: str) -> Path:
    return DIRECTORY / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract() -> Catalog:
    """Every message the code says, as a template catalog (msgid -> where it is used)."""
    template = Catalog(domain=DOMAIN, project="Partnerbook", fuzzy=False)
    method_map = [("**.py", "python")]
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(SOURCES), method_map, keywords=KEYWORDS, comment_tags=(), strip_comment_tags=True
    ):
        if isinstance(message, str) and message:
            template.add(message, locations=[(f"app/{filename}", lineno)], flags=_flags(message))
    return template


def _flags(message: str) -> tuple[str, ...]:
    return ("python-format",) if "%(" in message else ()


def read(locale: str) -> Catalog:
    with catalog_path(locale).open("rb") as po:
        return read_po(po, locale=locale, domain=DOMAIN)


def missing(locale: str, template: Catalog | None = None) -> list[str]:
    """msgids the code uses that `locale`'s catalog has no translation for."""
    template = template or extract()
    catalog = read(locale) if catalog_path(locale).exists() else Catalog(locale=locale)
    return sorted(
        str(m.id)
        for m in template
        if m.id and (catalog.get(m.id) is None or not catalog.get(m.id).string)  # type: ignore[union-attr]
    )


def update() -> None:
    """Merges the code's messages into every shipped catalog (Babel's `update`, no fuzzy
    guesses: a translator fills in what is new)."""
    template = extract()
    for locale in MESSAGE_LOCALES:
        path = catalog_path(locale)
        catalog = read(locale) if path.exists() else _new(locale)
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as po:
            # No source locations: a catalog changes only when a message does, so branches
            # that add messages merge without conflicts over line numbers.
            write_po(
                po, catalog, width=100, sort_output=True, ignore_obsolete=True, no_location=True
            )


def _new(locale: str) -> Catalog:
    return Catalog(
        locale=locale,
        domain=DOMAIN,
        project="Partnerbook",
        header_comment=f"# Partnerbook's messages in {locale}.",
        fuzzy=False,
    )


def main(argv: list[str]) -> int:
    if argv[1:] == ["update"]:
        update()
        return 0
    if argv[1:] == ["check"]:
        template = extract()
        gaps = {locale: missing(locale, template) for locale in MESSAGE_LOCALES}
        for locale, msgids in gaps.items():
            for msgid in msgids:
                print(f"{locale}: {msgid!r}")
        return 1 if any(gaps.values()) else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
