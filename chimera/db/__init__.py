"""Chimera's database plumbing: the zero-config embedded PostgreSQL server and helpers."""
