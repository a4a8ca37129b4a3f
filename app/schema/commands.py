"""Running a command from a mutation: audit metadata, the thread pool, domain errors as
`userErrors`, and read-your-writes (waiting until the projections show the change)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol
from uuid import UUID

from app.application import CommandResult
from app.domain.audited import Audit
from app.domain.errors import DomainError
from app.schema.context import Info
from app.schema.errors import UserError, user_errors
from app.schema.ids import record_id
from app.schema.use_cases import audit, commands

log = logging.getLogger(__name__)

CommandBuilder = Callable[[Audit], Callable[[], CommandResult]]


class RecordInput(Protocol):
    """The input of a mutation that names only its record (and the version expected)."""

    @property
    def id(self) -> str: ...

    @property
    def expected_version(self) -> int | None: ...


def record_command(
    command: Callable[[UUID, Audit, int | None], CommandResult],
    type_name: str,
    input: RecordInput,
) -> CommandBuilder:
    """The builder of a command that takes only its record (archive, restore, cancel…):
    the id is read when the command is built, so a bad one is a user error."""

    def build(audit: Audit) -> Callable[[], CommandResult]:
        ident = record_id(input.id, type_name)
        return lambda: command(ident, audit, input.expected_version)

    return build


async def execute(
    info: Info, build: CommandBuilder, reason: str | None
) -> CommandResult | list[UserError]:
    """The command's result once visible to queries, or the user errors that refused it."""
    session = commands(info)
    try:
        result = await session.run(build(audit(info, reason)))
    except DomainError as error:
        return user_errors(error)
    if not await session.visible(result.position):
        log.warning("projections did not reach position %s in time", result.position)
    return result
