"""The 360° view's directory: a partner's activities (activity_queries.py), documents
(document_queries.py), opportunities (opportunity_queries.py), timeline
(timeline_queries.py), the figures summed over them (figure_queries.py) and a commercial
partner's credit (credit_queries.py), through one read pool. A company's view takes in its contacts' records (partner_scope.py)."""

from __future__ import annotations

from app.queries.activity_queries import ActivityDirectory
from app.queries.credit_queries import CreditDirectory
from app.queries.document_queries import DocumentDirectory
from app.queries.document_totals import DocumentTotalsDirectory
from app.queries.figure_queries import FigureDirectory
from app.queries.opportunity_queries import OpportunityDirectory
from app.queries.timeline_queries import TimelineDirectory


class RelationshipDirectory(
    ActivityDirectory,
    DocumentDirectory,
    OpportunityDirectory,
    TimelineDirectory,
    FigureDirectory,
    CreditDirectory,
    DocumentTotalsDirectory,
):
    """Every read of the 360° view (each class it is made of reads one kind of record)."""
