"""The studio's page logic: plain async functions over an opened app, tested on PostgreSQL."""
