"""What each role may read, field by field: the one table, and the execution context
that refuses a field its reader's role may not have (FORBIDDEN at that field's path).

Every field of every type is readable by every role unless the table below says
otherwise. What the table keeps from a viewer is the past: old values, the values an
event carried, history, as-of states, and the free text written with a change (a
`reason`, a `summary` built from values at that time, e.g. "Jane Doe created" after the
name changed or was erased). A viewer still sees that something changed, when and by
whom (`kind`, `occurredAt`, `actor`, the record it is about) and every record as it is
today.

The rule is by (type, field), checked where graphql-core executes a field on its
concrete type, so every way of reaching a field (a page, `node(id)`, a fragment on an
interface, a subscription's event) meets the same rule over HTTP and WebSocket alike.
A refused field is an error located at its path; the rest of the answer is kept, with
nulls propagated as GraphQL says (a refused non-null field nulls its parent).
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLObjectType

from app.domain.messages import Message
from app.infra.api_keys import ROLES
from app.schema.errors import ClientError
from app.schema.execution import ShortLeafExecutionContext
from app.schema.execution_plans import PerFieldSet

FORBIDDEN = "FORBIDDEN"
PAST_READERS = frozenset({"admin", "editor", "auditor"})
"""Who may read the past: everyone but viewers."""


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    why: str


_PAST_VALUES = Rule(PAST_READERS, "past values")
_EVENT_VALUES = Rule(PAST_READERS, "the values an event carried (past values today)")
_EVENT_TEXT = Rule(PAST_READERS, "text written with the change; may quote past values")

READ_RULES: Mapping[tuple[str, str], Rule] = {
    ("Query", "partnerHistory"): _PAST_VALUES,
    ("Query", "partnerAsOf"): Rule(PAST_READERS, "a past state"),
    ("Query", "auditHead"): Rule(PAST_READERS, "the audit chain (for reviewers)"),
    ("Partner", "history"): _PAST_VALUES,
    ("PartnerChange", "changes"): _PAST_VALUES,
    ("PartnerChange", "reason"): _EVENT_TEXT,
    ("FieldChange", "old"): _PAST_VALUES,
    ("FieldChange", "new"): _PAST_VALUES,
    ("TimelineEntry", "changes"): _EVENT_VALUES,
    ("TimelineEntry", "reason"): _EVENT_TEXT,
    ("TimelineEntry", "summary"): _EVENT_TEXT,
    ("PartnerEvent", "changes"): _EVENT_VALUES,
    ("Query", "apiKeys"): Rule(frozenset({"admin"}), "API keys (admin only)"),
    ("Query", "webhookEndpoints"): Rule(frozenset({"admin"}), "where the log is sent (admins)"),
    ("Query", "webhookDeliveries"): Rule(frozenset({"admin"}), "where the log is sent (admins)"),
}
"""(type, field) → the roles that may read it. Any field not listed: every role."""

EVERY_ROLE = frozenset(ROLES)
assert all(rule.roles <= EVERY_ROLE for rule in READ_RULES.values())


def readers(type_name: str, field_name: str) -> frozenset[str]:
    """The roles that may read `type_name.field_name`."""
    rule = READ_RULES.get((type_name, field_name))
    return EVERY_ROLE if rule is None else rule.roles


@functools.cache
def unreadable_by(role: str | None) -> frozenset[tuple[str, str]]:
    """The (type, field) pairs `role` may not read (all the listed ones for an unknown
    role: it is refused as a whole before execution anyway)."""
    return frozenset(key for key, rule in READ_RULES.items() if role not in rule.roles)


def read_refusal(role: str, fields: Iterable[tuple[str, str]]) -> str | None:
    """Why `role` may not read one of `fields`, or None when it may read them all."""
    unreadable = unreadable_by(role)
    for type_name, name in sorted(set(fields) & unreadable):
        return refusal_message(role, type_name, name)
    return None


def refusal_message(role: str | None, type_name: str, field_name: str) -> str:
    return Message(
        "the %(role)s role cannot read `%(type)s.%(field)s`",
        role=role,
        type=type_name,
        field=field_name,
    )


def roles_table() -> str:
    """The roles-by-fields table of docs/security.md, as markdown (a test keeps the doc
    equal to it)."""
    head = ["Field", *ROLES, "Why"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (type_name, name), rule in READ_RULES.items():
        marks = ["yes" if role in rule.roles else "FORBIDDEN" for role in ROLES]
        lines.append(f"| `{type_name}.{name}` | " + " | ".join(marks) + f" | {rule.why} |")
    marks = ["yes" for _ in ROLES]
    lines.append("| every other field | " + " | ".join(marks) + " | today's values |")
    return "\n".join(lines)


class RoleCheckedExecutionContext(ShortLeafExecutionContext):
    """graphql-core's execution, refusing the fields the request's role may not read.

    Costs nothing for a role that may read everything (the set is empty); for the
    others, one set look-up per field that does not take the short leaf path, and one
    scan per selection set (remembered for the request) on types with a refused field."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        principal = getattr(self.context_value, "principal", None)
        self._role: str | None = getattr(principal, "role", None)
        self._unreadable = unreadable_by(self._role)
        self._guarded_types = frozenset(type_name for type_name, _ in self._unreadable)
        self._refuses_some = PerFieldSet(self._refuses_any)

    def _refuses_any(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> bool:
        return any(
            (parent_type.name, details[0].node.name.value) in self._unreadable
            for details in grouped_field_set.values()
        )

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Any,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        # The short leaf path reads attributes without `execute_field`: an object with a
        # refused field goes through graphql-core's own path, field by field.
        if parent_type.name in self._guarded_types and self._refuses_some(
            parent_type, grouped_field_set
        ):
            return super(ShortLeafExecutionContext, self).execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        return super().execute_fields(
            parent_type, source_value, path, grouped_field_set, position_context
        )

    def plan_scope(self) -> Hashable:
        # `may_shortcut` says no for the selections with a field the role may not read:
        # a plan made for another role must not serve this one.
        return self._role

    def may_shortcut(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> bool:
        # Objects completed on the short path skip `execute_fields` (below): not those
        # with a refused field, which must go through `execute_field`.
        return not (
            parent_type.name in self._guarded_types
            and self._refuses_some(parent_type, grouped_field_set)
        )

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        if self._unreadable:
            name = field_details_list[0].node.name.value
            if (parent_type.name, name) in self._unreadable:
                field = self.schema.get_field(parent_type, name)
                assert field is not None  # refused fields are fields of the schema
                error = ClientError(refusal_message(self._role, parent_type.name, name), FORBIDDEN)
                # Raises for a non-null field (its parent becomes null), as any error.
                self.handle_field_error(error, field.type, field_details_list, path)
                return None
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
