"""Unique values (an account code, a tag name among its siblings, a document reference
in its module and kind) held by reservations (app/domain/reservation.py): what a command
saves with the record that claims or gives up values."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from uuid import UUID

from eventsourcing.domain import Aggregate

from app.domain.errors import DomainError, ErrorCode
from app.domain.messages import Message
from app.domain.reservation import Reservation, reservation_id, stored_key


def claims(
    find: Callable[[UUID], Reservation | None],
    secret: bytes,
    owner_id: UUID,
    keys: Iterable[str],
    previous: Iterable[str],
) -> list[Aggregate]:
    """Reservations to save with the owner: new keys claimed, old keys released (`find`
    reads a reservation by id; `secret` keys document references, `stored_key`)."""
    keys, previous = list(keys), list(previous)
    result: list[Aggregate] = []
    for key in keys:
        if key in previous:
            continue
        stored = stored_key(key, secret)
        held = find(reservation_id(stored))
        older = find(reservation_id(key)) if stored != key else None
        if any(r and not r.erased and r.is_held_by_other(owner_id) for r in (held, older)):
            raise DomainError.single(
                ErrorCode.DUPLICATE, _duplicate_message(key), _duplicate_field(key)
            )
        if held is None:
            result.append(Reservation(stored, str(owner_id)))
        elif held.erased:
            held.retake(stored, str(owner_id))
            result.append(held)
        else:
            held.reclaim(str(owner_id))
            result.append(held)
    for key in previous:
        if key in keys:
            continue
        for form in dict.fromkeys((stored_key(key, secret), key)):
            if (held := find(reservation_id(form))) is not None:
                held.release()
                result.append(held)
    return result


def _duplicate_field(key: str) -> str:
    if key.startswith("account-code:"):
        return "code"
    return "reference" if key.startswith("document:") else "name"


def _duplicate_message(key: str) -> str:
    if key.startswith("account-code:"):
        return Message("another account already has this code")
    if key.startswith("document:"):
        return Message("this module already recorded a document of this kind with this reference")
    return Message("another tag with this name has the same parent")
