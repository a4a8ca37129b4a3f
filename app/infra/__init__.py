"""Adapters to PostgreSQL and eventsourcing that every layer above the domain uses: the
database and its pools, notices between processes, the event-store recorder, the API-key
store, the per-partner data keys, read-your-writes positions and the projection lag."""

from app.infra import pipelines

# Before any connection is made: every statement sent in a pipeline is sent whole.
pipelines.install()
