"""Who may do what: the roles' rules on operations (what each may read is the table in
app/schema/access.py), the reading of a key from a request, and the `Guard` extension
that refuses (before anything runs) the unauthenticated, the forbidden and the too
costly."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationType,
    validate,
)
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as aliases_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator

from app.projections.api_keys import ROLES, Principal
from app.schema.access import read_refusal
from app.schema.limits import Walk, as_limit, limit_error, walk

ADMIN_ONLY_MUTATIONS = frozenset({"anonymizePartner", "unmergePartner"})
"""Mutations only an admin may run: erasure and merge undo."""

MUTATES = frozenset({"admin", "editor"})
assert set(ROLES) >= MUTATES


class Unauthenticated(GraphQLError):
    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": "UNAUTHENTICATED"})


class Forbidden(GraphQLError):
    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": "FORBIDDEN"})


def operation_refusal(
    role: str, operation: OperationType, fields: Iterable[tuple[str, str]]
) -> str | None:
    """Why `role` may not run an operation touching `fields` ((type, field) pairs) at
    all, or None when it may: an unknown role, a mutation its role may not run, a
    subscription its role may not read (it has a single root field: nothing to answer
    in part). Fields its role may not read elsewhere are refused one by one as they run
    (app/schema/access.py)."""
    if role not in ROLES:
        return f"unknown role {role!r}"
    if role == "admin":
        return None
    fields = set(fields)
    if operation is OperationType.MUTATION:
        if role not in MUTATES:
            return f"the {role} role cannot run mutations"
        for type_name, name in sorted(fields):
            if type_name == "Mutation" and name in ADMIN_ONLY_MUTATIONS:
                return f"only the admin role can run `{name}`"
    if operation is OperationType.SUBSCRIPTION:
        return read_refusal(role, {f for f in fields if f[0] == "Subscription"})
    return None


def refusal(role: str, operation: OperationType, fields: Iterable[tuple[str, str]]) -> str | None:
    """Why `role` may not have all of an operation touching `fields`, or None when it
    may: the rules on operations above, then the table of fields each role may read."""
    return operation_refusal(role, operation, fields) or read_refusal(role, fields)


def bearer_key(value: str | None) -> str | None:
    """The key of an `Authorization: Bearer <key>` value (None when absent or not Bearer)."""
    if not value:
        return None
    scheme, _, key = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return key.strip()


def key_of_connection_params(params: Mapping[str, Any] | None) -> str | None:
    """The key in a WebSocket `connection_init` payload: `Authorization` (or
    `authorization`) with a Bearer value, or `apiKey` with the bare key."""
    if not isinstance(params, Mapping):
        return None
    for name in ("Authorization", "authorization"):
        value = params.get(name)
        if isinstance(value, str):
            return bearer_key(value)
    value = params.get("apiKey")
    return value.strip() if isinstance(value, str) and value.strip() else None


T = TypeVar("T")


class DocumentMemo(Generic[T]):
    """Results remembered by the identity of the schema and the document (the parser
    cache hands out the same document for the same text) plus a key of the caller's.
    Not by their hash: a document's hash walks its whole tree (~11 µs for a 16-field
    query, on every request). Emptied when full."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._known: dict[tuple[Any, ...], tuple[GraphQLSchema, DocumentNode, T]] = {}

    def get(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        key: tuple[Any, ...],
        compute: Callable[[], T],
    ) -> T:
        full_key = (id(schema), id(document), *key)
        known = self._known.get(full_key)
        if known is not None and known[0] is schema and known[1] is document:
            return known[2]
        value = compute()
        if len(self._known) >= self.size:
            self._known.clear()
        self._known[full_key] = (schema, document, value)
        return value


_VALIDATIONS: DocumentMemo[list[GraphQLError]] = DocumentMemo(256)
_WALKS: DocumentMemo[Walk | None] = DocumentMemo(1024)


def _validate(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[Any, ...]
) -> list[GraphQLError]:
    """`validate`, remembered (validation depends on nothing else)."""
    return _VALIDATIONS.get(schema, document, rules, lambda: validate(schema, document, rules))


def variables_shape(value: Any) -> Any:
    """What of the variables the walk can see: list lengths and numbers, not the text
    of strings (except those `int()` reads, which may be a page size)."""
    if isinstance(value, str):
        try:
            int(value)
        except ValueError:
            return ""
        return value
    if isinstance(value, dict):
        return tuple((k, variables_shape(v)) for k, v in value.items())
    if isinstance(value, list):
        return ("[]", *(variables_shape(v) for v in value))
    return (type(value).__name__, value)


def walk_cached(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    default_page: int,
) -> Walk | None:
    """`walk`, remembered by document (the parser cache hands out the same document for
    the same text), operation and the shape of the variables: the walk is ~0.1 ms a
    request, and a `partner(id)` or a page asks the same shape every time."""
    key = (operation_name, default_page, variables_shape(dict(variables or {})))
    return _WALKS.get(
        schema,
        document,
        key,
        lambda: walk(schema, document, operation_name, variables, default_page),
    )


def limit_rules(max_depth: int, max_aliases: int) -> list[type[ASTValidationRule]]:
    """Depth and aliases limits as validation rules coded LIMIT_EXCEEDED."""
    return [
        as_limit(depth_validator(max_depth, None, None)),
        as_limit(aliases_validator(max_aliases)),
    ]


class Guard(SchemaExtension):
    """Runs the validation (with a cache; it replaces strawberry's ValidationCache) and
    then refuses, as the only error of the request: no principal → UNAUTHENTICATED (before
    validation, so nothing about the schema leaks); a role not allowed → FORBIDDEN; too
    many nodes or too long a list argument → LIMIT_EXCEEDED. Nothing runs when refused."""

    def __init__(self, *, max_cost: int, max_batch: int, default_page: int = 50) -> None:
        self.max_cost = max_cost
        self.max_batch = max_batch
        self.default_page = default_page

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        principal: Principal | None = getattr(ec.context, "principal", None)
        if principal is None:
            failure: Exception | None = getattr(ec.context, "auth_failure", None)
            if failure is not None:  # the error masking turns it into DATABASE_UNAVAILABLE
                ec.pre_execution_errors = [GraphQLError(str(failure), original_error=failure)]
                yield
                return
            reason = getattr(ec.context, "auth_error", None) or "an API key is required"
            ec.pre_execution_errors = [Unauthenticated(reason)]
            yield
            return
        assert ec.graphql_document is not None
        schema = ec.schema._schema
        errors = _validate(schema, ec.graphql_document, tuple(ec.validation_rules))
        if not errors:
            refused = self.check(
                schema, ec.graphql_document, ec.operation_name, ec.variables, principal
            )
            errors = [refused] if refused is not None else []
        ec.pre_execution_errors = errors
        yield

    def check(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
        principal: Principal,
    ) -> GraphQLError | None:
        walked = walk_cached(schema, document, operation_name, variables, self.default_page)
        if walked is None:
            return None  # no single operation: the executor says so
        reason = operation_refusal(principal.role, walked.operation, walked.fields)
        if reason is not None:
            return Forbidden(reason)
        longest, where = walked.longest_list
        if longest > self.max_batch:
            return limit_error(f"`{where}` got a list of {longest}; at most {self.max_batch}")
        if walked.cost > self.max_cost:
            return limit_error(
                f"the operation may return {walked.cost} nodes; at most {self.max_cost} "
                f"(connections count `first`, or {self.default_page}, times the ones above)"
            )
        return None
