"""SQLite store: migrations keep data across upgrades, WAL mode, secrets never in plain text."""

from __future__ import annotations

import os
import sqlite3

import pytest
from sqlalchemy import text

from basepod_agent.services.crypto import SecretBox, create_key_file
from basepod_agent.store.database import Database
from basepod_agent.store.migrations import MIGRATIONS, migrate


def test_fresh_database_reaches_latest_schema_in_wal_mode(tmp_path):
    db = Database(tmp_path / "agent.db")
    assert db.migrate() == len(MIGRATIONS)
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    assert os.stat(tmp_path / "agent.db").st_mode & 0o777 == 0o600
    db.close()


def test_upgrade_applies_only_new_steps_and_keeps_existing_rows(tmp_path):
    path = tmp_path / "agent.db"
    db = Database(path)
    with db.engine.connect() as conn:
        migrate(conn, MIGRATIONS[:1])
        conn.execute(text(
            "INSERT INTO users (email, password_hash, role, created_at) "
            "VALUES ('old@example.com', 'x', 'admin', '2026-01-01 00:00:00')"))
        conn.commit()

    def add_column(conn):
        conn.execute(text("ALTER TABLE users ADD COLUMN display_name VARCHAR(80)"))

    with db.engine.connect() as conn:
        assert migrate(conn, [*MIGRATIONS[:1], add_column]) == 2
        assert conn.execute(text("SELECT email FROM users")).scalar_one() == "old@example.com"
        assert migrate(conn, [*MIGRATIONS[:1], add_column]) == 2  # idempotent
    db.close()


def test_a_database_from_a_newer_agent_is_refused_not_damaged(tmp_path):
    db = Database(tmp_path / "agent.db")
    db.migrate()
    with db.engine.connect() as conn:
        conn.execute(text("PRAGMA user_version = 99"))
        conn.commit()
        with pytest.raises(RuntimeError, match="newer than this agent"):
            migrate(conn)
    db.close()


def test_secret_box_round_trips_and_binds_ciphertext_to_its_place(tmp_path):
    create_key_file(tmp_path / "k")
    assert os.stat(tmp_path / "k").st_mode & 0o777 == 0o600
    box = SecretBox.from_file(tmp_path / "k")
    blob = box.encrypt("s3cret-value", "env:1:TOKEN")
    assert b"s3cret-value" not in blob
    assert box.decrypt(blob, "env:1:TOKEN") == "s3cret-value"
    with pytest.raises(Exception):
        box.decrypt(blob, "env:2:TOKEN")


def test_a_key_file_readable_by_others_is_refused(tmp_path):
    create_key_file(tmp_path / "k")
    os.chmod(tmp_path / "k", 0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        SecretBox.from_file(tmp_path / "k")


def test_sqlite_file_is_plain_sqlite_readable_by_standard_tools(tmp_path):
    db = Database(tmp_path / "agent.db")
    db.migrate()
    db.close()
    tables = {r[0] for r in sqlite3.connect(tmp_path / "agent.db").execute(
        "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"users", "tokens", "apps", "env_vars", "activity"} <= tables
