"""Persistence: SQLModel models, engine/transactions, repository functions, migrations."""
