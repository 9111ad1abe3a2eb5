"""Persistent state: SQLite through SQLAlchemy, schema versioned by migrations."""
