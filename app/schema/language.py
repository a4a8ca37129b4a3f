"""The request's language at the API's boundary: the `locale` argument of the root fields
that name things, and the field extension that says a message-valued field in it."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.extensions import FieldExtension

from app import locales
from app.domain.messages import Message
from app.schema.context import Info

LocaleArgument = Annotated[
    str | None,
    strawberry.argument(
        description="The language of the names and labels (`fr`, `de-CH`); overrides the "
        "request's Accept-Language (or the WebSocket's `locale`). Unknown: English."
    ),
]


def locale_of(info: Info, given: str | None = None) -> str:
    """`given` when it names a shipped locale, else the request's."""
    return locales.pick(given) or info.context.locale


def say(info: Info, text: str) -> str:
    """`text` (a message or a catalog msgid) in the request's language."""
    return locales.translate(text, info.context.locale)


class Translated(FieldExtension):
    """A field whose value may be a message: resolved as stored, said in the request's
    language. Data fields keep their constructor, so the code that builds them is unchanged.

    Only `Message`s are translated, unless `plain` (a field that holds nothing but
    messages, such as `UserError.message`): a partner named "Customer" stays "Customer"."""

    def __init__(self, plain: bool = False) -> None:
        super().__init__()
        self.plain = plain

    def resolve(self, next_: Any, source: Any, info: Info, **kwargs: Any) -> Any:
        return self._say(next_(source, info, **kwargs), info.context.locale)

    async def resolve_async(self, next_: Any, source: Any, info: Info, **kwargs: Any) -> Any:
        return self._say(await next_(source, info, **kwargs), info.context.locale)

    def _say(self, value: Any, locale: str) -> Any:
        if isinstance(value, Message) or (self.plain and isinstance(value, str)):
            return locales.translate(value, locale)
        return value
