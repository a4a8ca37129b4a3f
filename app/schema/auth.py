"""Who may do what: the roles' rules on operations (what each may read is the table in
app/schema/access.py), the reading of a key from a request, and the `Guard` extension
that refuses (before anything runs) the unauthenticated, the forbidden and the too
costly."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    parse,
    validate,
)
from strawberry.extensions import SchemaExtension

from app.infra.api_keys import ROLES, Principal
from app.schema.access import read_refusal
from app.schema.limits import (
    MAX_SEARCH_CHARS,
    Limits,
    Walk,
    budget,
    over_limit,
    walk,
)
from app.schema.parsing import DOCUMENT_MEMOS

WEBHOOK_MUTATIONS = frozenset(
    {
        "createWebhookEndpoint",
        "updateWebhookEndpoint",
        "rotateWebhookSecret",
        "disableWebhookEndpoint",
        "enableWebhookEndpoint",
        "deleteWebhookEndpoint",
        "replayWebhookEndpoint",
    }
)
ADMIN_ONLY_MUTATIONS = (
    frozenset({"anonymizePartner", "unmergePartner", "createApiKey", "revokeApiKey"})
    | WEBHOOK_MUTATIONS
)
"""Mutations only an admin may run: erasure, merge undo, API keys, webhook endpoints (they
send the log to an address of the admin's choosing)."""

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

    def clear(self) -> None:
        self._known.clear()


_VALIDATIONS: DocumentMemo[list[GraphQLError]] = DocumentMemo(256)
_WALKS: DocumentMemo[Walk | None] = DocumentMemo(1024)
DOCUMENT_MEMOS.extend((_VALIDATIONS.clear, _WALKS.clear))


def _validate(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[Any, ...]
) -> list[GraphQLError]:
    """`validate`, remembered (validation depends on nothing else)."""
    return _VALIDATIONS.get(schema, document, rules, lambda: validate(schema, document, rules))


_SHAPED_TEXT = 32
"""Characters of a name or of an integer-looking string a shape keeps as they are; a
longer one is kept as its digest (a 1 MB variable was kept whole, in each of the 1,024
keys of `_WALKS`: up to ~1 GB a process)."""


def _bounded(text: str) -> str | bytes:
    """`text` itself when short, else a digest of it (16 bytes): keys of the same
    variables stay equal, of others different, whatever their size."""
    if len(text) <= _SHAPED_TEXT:
        return text
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def variables_shape(value: Any) -> tuple[Any, ...]:
    """What of the variables the walk can see, as one flat tuple (built without
    recursion: variables may nest deeply): list lengths and numbers, not the text of
    strings (except those `int()` reads, which may be a page size), only whether one is
    longer than a search may be (MAX_SEARCH_CHARS, spaces around it aside). Its size is
    bounded by the number of values: a name or a string kept that is longer than
    `_SHAPED_TEXT` is kept as its digest."""
    shape: list[Any] = []
    stack: list[Any] = [value]
    close = object()  # marks where a list or an object ends
    while stack:
        item = stack.pop()
        if item is close:
            shape.append(")")
        elif isinstance(item, dict):
            shape.append("{")
            stack.append(close)
            for key, inner in reversed(item.items()):
                stack.append(inner)
                stack.append(("key", _bounded(str(key))))
        elif isinstance(item, list):
            shape.append("[")
            stack.append(close)
            stack.extend(reversed(item))
        elif isinstance(item, tuple):
            shape.append(item)  # a key
        elif isinstance(item, str):
            shape.append(_bounded(item) if _is_int(item) else "+" if _over_search(item) else "")
        else:
            shape.append((type(item).__name__, item))
    return tuple(shape)


def _over_search(text: str) -> bool:
    return len(text) > MAX_SEARCH_CHARS and len(text.strip()) > MAX_SEARCH_CHARS


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


_SHAPED_ITEMS = 256
"""Variables of at most this many values (and lists and objects) make a walk's cache key."""


def _fewer_items_than(value: Any, limit: int) -> bool:
    """Whether `value` holds fewer than `limit` values, lists and objects (stops early)."""
    stack: list[Any] = [value]
    seen = 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen >= limit:
            return False
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list):
            if len(item) >= limit:
                return False
            stack.extend(item)
    return True


def walk_cached(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    default_page: int,
) -> Walk | None:
    """`walk`, remembered by document (the parser cache hands out the same document for
    the same text), operation and the shape of the variables: the walk is ~0.1 ms a
    request, and a `partner(id)` or a page asks the same shape every time. Large
    variables are walked each time: their shape would cost as much as the walk."""
    if not _fewer_items_than(variables, _SHAPED_ITEMS):
        return walk(schema, document, operation_name, variables, default_page)
    if operation_name is None:  # the view names the sole operation; the heavy lane does not
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) == 1 and operations[0].name is not None:
            operation_name = operations[0].name.value
    key = (operation_name, default_page, variables_shape(dict(variables or {})))
    return _WALKS.get(
        schema,
        document,
        key,
        lambda: walk(schema, document, operation_name, variables, default_page),
    )


NOT_READ = parse("{ __typename }")
"""Stands for the document of a request without a principal: what it sent is never
parsed, and the Guard refuses it (UNAUTHENTICATED, or DATABASE_UNAVAILABLE) before
anything runs."""


def not_read(operation_name: str | None) -> DocumentNode:
    """NOT_READ, its operation named as the request names the one to run (strawberry
    finds the operation's type by that name)."""
    if operation_name is None:
        return NOT_READ
    (operation,) = NOT_READ.definitions
    assert isinstance(operation, OperationDefinitionNode)
    named = OperationDefinitionNode(
        operation=operation.operation,
        name=NameNode(value=operation_name),
        variable_definitions=(),
        directives=(),
        selection_set=operation.selection_set,
    )
    return DocumentNode(definitions=(named,))


def _unread(ec: Any) -> bool:
    """Whether the request's text is to be left unparsed: a non-empty string not parsed
    yet (no query, or one not a string, is refused as it was: a 400)."""
    return isinstance(ec.query, str) and bool(ec.query) and ec.graphql_document is None


class Guard(SchemaExtension):
    """Refuses, as the only error of the request, before anything runs: no principal →
    UNAUTHENTICATED (before anything else, so nothing about the schema leaks, and before
    the document is parsed or the variables counted: `on_operation` puts NOT_READ in
    place of the document, CheckVariables counts nothing); a role not
    allowed → FORBIDDEN (a mutation from a read-only role before the document is even
    walked); over a limit → LIMIT_EXCEEDED. Only then does it run graphql-core's
    validation (with a cache; it replaces strawberry's ValidationCache): the walk is
    linear in the document, validation's own rules are not, so a document that could
    make them expensive never reaches them."""

    def __init__(self, *, limits: Limits) -> None:
        self.limits = limits
        self.named = False
        self.walked_leaves = self.walked_cost = 0

    def on_operation(self) -> Iterator[None]:
        # Read before parsing: strawberry then falls back to the document's first
        # operation, where GraphQL asks for an error when the document has several.
        ec = self.execution_context
        self.named = ec.operation_name is not None
        if getattr(ec.context, "principal", None) is None and _unread(ec):
            # No key (or a bad one, or the database cannot say): refused in on_validate
            # without parsing what was sent. A 1 MB document without a key was parsed and
            # kept in the parse cache first, at other clients' expense.
            ec.graphql_document = not_read(ec.operation_name)
        yield

    def on_execute(self) -> Iterator[None]:
        budget.start(self.execution_context, self.limits, self.walked_leaves, self.walked_cost)
        yield

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
        refused = self.unchosen(ec.graphql_document) or self.check(
            schema, ec.graphql_document, ec.operation_name, ec.variables, principal
        )
        if refused is not None:
            ec.pre_execution_errors = [refused]
        else:
            ec.pre_execution_errors = _validate(
                schema, ec.graphql_document, tuple(ec.validation_rules)
            )
        yield

    def unchosen(self, document: DocumentNode) -> GraphQLError | None:
        """BAD_REQUEST for a document of several operations that names none to run."""
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if self.named or len(operations) < 2:
            return None
        message = "Must provide operation name if query contains multiple operations."
        return GraphQLError(message, extensions={"code": "BAD_REQUEST"})

    def check(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
        principal: Principal,
    ) -> GraphQLError | None:
        """FORBIDDEN or LIMIT_EXCEEDED for the operation to run, or None."""
        chosen = [
            d
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
            and (operation_name is None or (d.name is not None and d.name.value == operation_name))
        ]
        if len(chosen) == 1:
            # Costs nothing that grows with the document: a viewer's mutation stops here.
            reason = operation_refusal(principal.role, chosen[0].operation, ())
            if reason is not None:
                return Forbidden(reason)
        walked = walk_cached(schema, document, operation_name, variables, self.limits.default_page)
        if walked is None:
            return None  # no single operation: the executor says so
        reason = operation_refusal(principal.role, walked.operation, walked.fields)
        if reason is not None:
            return Forbidden(reason)
        self.walked_leaves, self.walked_cost = walked.leaves, walked.cost
        return over_limit(walked, self.limits)
