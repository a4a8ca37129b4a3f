"""The whole GraphQL schema, merged from the per-feature query and mutation types."""

from __future__ import annotations

import functools
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxTokensLimiter, SchemaExtension
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext
from strawberry.types.base import get_object_definition

from app.schema.access import RoleCheckedExecutionContext
from app.schema.affiliations.operations import AffiliationMutations
from app.schema.affiliations.types import Affiliation, BankAccount
from app.schema.api_keys import ApiKeyMutations, ApiKeyQueries
from app.schema.auth import Guard
from app.schema.bulk_edit import BulkEditMutations
from app.schema.catalogs.operations import CatalogMutations
from app.schema.catalogs.queries import CatalogQueries
from app.schema.catalogs.schedule import PaymentScheduleQueries
from app.schema.catalogs.types import CATALOG_TYPES
from app.schema.erasure import ErasureMutations
from app.schema.errors import MaskInternalErrors
from app.schema.extension_hooks import HooksFoundOnce
from app.schema.history import HistoryQueries
from app.schema.imports import ImportMutations
from app.schema.input_conversion import install as install_input_conversion
from app.schema.limits import LIMIT_EXCEEDED, Limits, bound_validation, is_document_limit
from app.schema.live.subscriptions import Subscription
from app.schema.merging import MergeMutations, MergeQueries
from app.schema.nodes import NodeQueries
from app.schema.notes.operations import NoteMutations, NoteQueries
from app.schema.parsing import SharedParserCache
from app.schema.partners.mutations import PartnerMutations, PartnerTermsMutations
from app.schema.partners.queries import PartnerQueries
from app.schema.partners.trends import PartnerCountQueries
from app.schema.partners.types import Partner
from app.schema.relationship.documents import Document
from app.schema.relationship.operations import RelationshipMutations, RelationshipQueries
from app.schema.relationship.totals import DocumentTotalQueries
from app.schema.relationship.types import Activity, Opportunity, TimelineEntry
from app.schema.segments import SegmentMutations, SegmentQueries
from app.schema.tags.operations import TagMutations, TagQueries
from app.schema.tags.types import Tag
from app.schema.text_guard import RefuseUnstorableText
from app.schema.variables import CheckVariables
from app.schema.webhooks.operations import WebhookMutations, WebhookQueries

Query = merge_types(
    "Query",
    (
        NodeQueries,
        PartnerQueries,
        PartnerCountQueries,
        DocumentTotalQueries,
        RelationshipQueries,
        SegmentQueries,
        TagQueries,
        CatalogQueries,
        PaymentScheduleQueries,
        MergeQueries,
        HistoryQueries,
        ApiKeyQueries,
        NoteQueries,
        WebhookQueries,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        PartnerMutations,
        PartnerTermsMutations,
        RelationshipMutations,
        SegmentMutations,
        TagMutations,
        CatalogMutations,
        MergeMutations,
        ImportMutations,
        ErasureMutations,
        AffiliationMutations,
        ApiKeyMutations,
        BulkEditMutations,
        NoteMutations,
        WebhookMutations,
    ),
)
get_object_definition(Query, strict=True).description = (
    "What can be read: records by id, filtered pages, facets, history. Every request needs "
    "an API key (`Authorization: Bearer pb_…`)."
)
get_object_definition(Mutation, strict=True).description = (
    "What can be changed: one `input` each; the payload has the record and `userErrors` "
    "(when there are any, nothing was changed)."
)


class PartnerbookSchema(strawberry.Schema):
    """Logs only what is a bug: client mistakes (bad queries, refused cursors, limits)
    are answered, not logged as errors; MaskInternalErrors logs the bugs with their stack."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if is_document_limit(error):
                error.extensions = {**(error.extensions or {}), "code": LIMIT_EXCEEDED}
            # Syntax and validation errors never reach the operation's result: code them here.
            if error.original_error is None and not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": "BAD_REQUEST"}

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        return HooksFoundOnce(execution_context=execution_context, extensions=extensions)


DEFAULT_LIMITS = Limits()


@functools.cache
def build_schema(
    *, introspection: bool = True, max_tokens: int = 5000, limits: Limits = DEFAULT_LIMITS
) -> strawberry.Schema:
    """The schema for these limits; built once per process for each set of them (building
    takes ~0.1 s). Callers that set `extensions` of their own take a copy (`copy.copy`)."""
    bound_validation()
    extensions: list[Any] = [
        MaskInternalErrors,
        lambda: MaxTokensLimiter(max_tokens),
        RefuseUnstorableText,
        SharedParserCache,
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    # Before the Guard, whose walk reads the variables: they must fit their declared types.
    extensions.append(CheckVariables)
    # Last: it checks key, role and limits, then validates with every rule added above.
    extensions.append(lambda: Guard(limits=limits))
    schema = PartnerbookSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[
            Partner,
            Tag,
            Activity,
            Document,
            Opportunity,
            TimelineEntry,
            Affiliation,
            BankAccount,
            *CATALOG_TYPES.values(),
        ],
        extensions=extensions,
        execution_context_class=RoleCheckedExecutionContext,
    )
    install_input_conversion(schema)
    return schema


def sdl() -> str:
    return build_schema().as_str() + "\n"
