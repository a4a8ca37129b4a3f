"""Tools for fault tests: a private PostgreSQL to stop and start, a projector to kill."""
