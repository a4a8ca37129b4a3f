"""Affiliations (a person in several companies) and bank accounts: types, inputs, mutations."""
