"""A partner's state or province, named in the request's language."""

from __future__ import annotations

import strawberry

from app.locales import names
from app.queries.partners.rows import PartnerRow
from app.schema.context import Info


@strawberry.type(description="A state or province (ISO 3166-2; `code` is the suffix).")
class State:
    code: str = strawberry.field(description="The ISO 3166-2 suffix (`CA` for US-CA).")
    country_code: strawberry.Private[str]

    @strawberry.field(description="Its name in the request's language (California, Californie).")
    def name(self, info: Info) -> str:
        return self.name_in(info.context.locale)

    def name_in(self, locale: str) -> str:
        return names.state_name(self.country_code, self.code, locale)


def state_of(row: PartnerRow) -> State | None:
    if row.state_code and row.country_code:
        return State(code=row.state_code, country_code=row.country_code)
    return None
