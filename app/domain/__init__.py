"""The write model: aggregates, their events and the rules they enforce (no I/O)."""
