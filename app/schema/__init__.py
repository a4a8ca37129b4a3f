"""The GraphQL API: Strawberry types, inputs, payloads, queries and mutations."""
