"""Partnerbook: the event-sourced system of record for business partners."""
