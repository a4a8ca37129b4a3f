"""The read side's writers: projections that keep PostgreSQL tables from the events.
The queries over those tables are in app/queries."""
