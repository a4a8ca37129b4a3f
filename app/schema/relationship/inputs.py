"""Inputs of the 360° view's mutations: activities and opportunities (a document's are in
document_inputs.py)."""

from __future__ import annotations

from datetime import date

import strawberry

from app.schema.catalogs.inputs import MoneyInput
from app.schema.descriptions import COMMAND, described
from app.schema.relationship.descriptions import ACTIVITY_FIELDS, OPPORTUNITY_FIELDS
from app.schema.relationship.enums import ActivityType, OpportunityStage


@described(ACTIVITY_FIELDS, COMMAND)
@strawberry.input(description="A new activity with a partner.")
class ScheduleActivityInput:
    partner_id: strawberry.ID
    activity_type: ActivityType = ActivityType.TODO
    summary: str | None = None
    note: str | None = None
    due_date: date = strawberry.field(description="The day it is due, in the assignee's zone.")
    assignee_id: strawberry.ID | None = None
    company_id: strawberry.ID | None = None
    idempotency_key: str | None = None
    reason: str | None = None


@described(ACTIVITY_FIELDS, COMMAND)
@strawberry.input(description="Edit, reschedule (dueDate) or reassign (assigneeId).")
class UpdateActivityInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    summary: strawberry.Maybe[str | None] = None
    note: strawberry.Maybe[str | None] = None
    due_date: strawberry.Maybe[date | None] = None
    assignee_id: strawberry.Maybe[strawberry.ID | None] = None
    activity_type: strawberry.Maybe[ActivityType | None] = None


@described(ACTIVITY_FIELDS, COMMAND)
@strawberry.input(description="Closes an open activity as DONE.")
class CompleteActivityInput:
    id: strawberry.ID
    feedback: str | None = None
    expected_version: int | None = None
    reason: str | None = None


@described(COMMAND)
@strawberry.input(description="Closes an open activity as CANCELLED.")
class CancelActivityInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None


@described(OPPORTUNITY_FIELDS, COMMAND)
@strawberry.input(description="A new opportunity with a partner.")
class CreateOpportunityInput:
    partner_id: strawberry.ID
    name: str
    expected_revenue: MoneyInput | None = None
    probability: float | None = None
    stage: OpportunityStage | None = None
    salesperson_id: strawberry.ID | None = None
    idempotency_key: str | None = None
    reason: str | None = None


@described(OPPORTUNITY_FIELDS, COMMAND)
@strawberry.input(description="Moves an open opportunity; won/lost have their own mutations.")
class UpdateOpportunityInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = None
    name: strawberry.Maybe[str | None] = None
    expected_revenue: strawberry.Maybe[MoneyInput | None] = None
    probability: strawberry.Maybe[float | None] = None
    stage: strawberry.Maybe[OpportunityStage | None] = None
    salesperson_id: strawberry.Maybe[strawberry.ID | None] = None


@described(COMMAND)
@strawberry.input(description="Closes an open opportunity as won or lost.")
class CloseOpportunityInput:
    id: strawberry.ID
    expected_version: int | None = None
    reason: str | None = strawberry.field(default=None, description="Why it was won or lost.")
