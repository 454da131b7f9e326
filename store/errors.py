"""Errors an operator must fix, importable without loading the database stack (the CLI catches them)."""
from __future__ import annotations


class DatabaseError(Exception):
    """A database problem an operator must fix (message says how)."""
