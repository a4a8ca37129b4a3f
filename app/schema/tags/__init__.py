"""Tags in the GraphQL API."""
