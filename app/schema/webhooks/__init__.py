"""Webhook endpoints in the GraphQL API (admin only): types, the body sent, operations."""
