"""Crypto-shredding (DESIGN.md): per-partner data keys and the mapper that encrypts the
personal fields of a partner's events and snapshots with them. Infrastructure the
application builds its mapper from (like eventsourcing's own cipher); it imports only
the domain's list of personal fields."""
