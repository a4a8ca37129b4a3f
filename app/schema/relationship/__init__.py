"""The 360° view in the GraphQL API: activities, documents, opportunities, timeline, figures."""
