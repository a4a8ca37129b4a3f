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

log = logging.getLogger(__name__)

CommandBuilder = Callable[[Audit], Callable[[], CommandResult]]


async def execute(
    info: Info, build: CommandBuilder, reason: str | None
) -> CommandResult | list[UserError]:
    """The command's result once visible to queries, or the user errors that refused it."""
    ctx = info.context
    audit = Audit(actor=ctx.actor, request_id=ctx.request_id, reason=reason)
    try:
        result = await ctx.run(build(audit))
    except DomainError as error:
        return user_errors(error)
    services = ctx.services
    visible = await services.waiter.wait_for(
        result.position, services.settings.read_your_writes_timeout
    )
    if not visible:
        log.warning("projections did not reach position %s in time", result.position)
    return result
