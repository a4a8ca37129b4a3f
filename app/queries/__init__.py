"""The read side's queries: directories over the read-model tables that the projections
keep, keyset cursors, the change feed behind subscriptions, exports."""
