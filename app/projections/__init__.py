"""The read side: projections that keep PostgreSQL tables from the events, and the
queries over them. All SQL of Partnerbook lives in this package."""
