"""Running a command from a mutation: audit metadata, the thread pool, domain errors as
`userErrors`, and read-your-writes (waiting until the projections show the change)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from app.application import CommandResult
from app.domain.audited import Audit
from app.domain.errors import DomainError
from app.schema.context import Info
from app.schema.errors import UserError, user_errors
from app.schema.use_cases import audit, commands

log = logging.getLogger(__name__)

CommandBuilder = Callable[[Audit], Callable[[], CommandResult]]


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
