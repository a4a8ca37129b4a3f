"""Messages for people that the API can say in the reader's language: the English text,
with the template and the values it was made of.

A `Message` *is* its English text (a `str`), so code that logs, joins or compares
messages is unchanged; the API's boundary (app/locales) looks the template up in the
request's catalog and fills in the values there. Write a message as a literal, or as
`Message("'%(value)s' is not a web address", value=value)`, never as an f-string: the
catalogs are extracted from the literals (tests/locales/test_catalogs.py says which are
missing), and an f-string has no template to translate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class Message(str):
    """English text that remembers its `template` (a gettext msgid, Python %-format with
    named values) and its `params`; params that are messages are translated too."""

    template: str
    params: Mapping[str, Any]

    def __new__(cls, template: str, /, **params: Any) -> Message:
        # An exception is kept as its text (a Message stays one): no traceback is held,
        # and the message pickles (the import checks rows in worker processes).
        params = {k: str(v) if isinstance(v, BaseException) else v for k, v in params.items()}
        self = super().__new__(cls, template % params if params else template)
        self.template = template
        self.params = params
        return self

    def __str__(self) -> str:
        # str(ValueError(message)) returns this object, not a plain copy: the template
        # travels through exceptions whose text becomes a user error.
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.template, dict(self.params)))


def _rebuild(template: str, params: dict[str, Any]) -> Message:
    return Message(template, **params)
