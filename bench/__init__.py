"""Benchmarks: each figure is printed next to raw PostgreSQL measured in the same run."""
