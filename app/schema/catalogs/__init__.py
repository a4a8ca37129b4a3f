"""Catalogs in the GraphQL API: industries, payment terms, pricelists, delivery methods, salespeople, accounts, fiscal positions."""
