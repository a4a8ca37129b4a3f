"""Partners in the GraphQL API."""
