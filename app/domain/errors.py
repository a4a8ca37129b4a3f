"""Domain errors: rule violations that clients see as `userErrors`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ErrorCode(Enum):
    VALIDATION = "VALIDATION"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    ARCHIVED = "ARCHIVED"
    FORBIDDEN = "FORBIDDEN"
    DUPLICATE = "DUPLICATE"
    INVALID_HIERARCHY = "INVALID_HIERARCHY"
    CREDIT_LIMIT = "CREDIT_LIMIT"
    """A warning, never a refusal: the change was made, and takes a partner's credit
    exposure over its credit limit."""


@dataclass(frozen=True)
class FieldError:
    """One broken rule, named by the input field it concerns (empty for the whole input)."""

    field: tuple[str, ...]
    code: ErrorCode
    message: str
    refers_to: tuple[str, str] | None = None
    """(type, id) of a record the message points at, e.g. the commercial partner."""


class DomainError(Exception):
    """A command was refused; nothing was recorded."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors

    @classmethod
    def single(cls, code: ErrorCode, message: str, *field: str) -> DomainError:
        return cls([FieldError(tuple(field), code, message)])


def validation(message: str, *field: str) -> DomainError:
    return DomainError.single(ErrorCode.VALIDATION, message, *field)


def not_found(message: str, *field: str) -> DomainError:
    return DomainError.single(ErrorCode.NOT_FOUND, message, *field)


def conflict(message: str, *field: str) -> DomainError:
    return DomainError.single(ErrorCode.CONFLICT, message, *field)


def archived(message: str, *field: str) -> DomainError:
    return DomainError.single(ErrorCode.ARCHIVED, message, *field)


def invalid_hierarchy(message: str, *field: str) -> DomainError:
    return DomainError.single(ErrorCode.INVALID_HIERARCHY, message, *field)
