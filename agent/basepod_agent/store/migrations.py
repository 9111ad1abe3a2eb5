"""Numbered schema migrations tracked in SQLite's ``user_version``.

Each step runs once, in order, inside a transaction, so upgrading an agent keeps every
user's data. Never edit a released step: append a new one.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, text

Step = Callable[[Connection], None]


def _initial_schema(conn: Connection) -> None:
    for statement in (
        """CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            email VARCHAR(254) NOT NULL UNIQUE,
            password_hash VARCHAR(512) NOT NULL,
            role VARCHAR(16) NOT NULL,
            created_at DATETIME NOT NULL)""",
        """CREATE TABLE tokens (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            token_hash VARCHAR(64) NOT NULL UNIQUE,
            kind VARCHAR(16) NOT NULL DEFAULT 'session',
            created_at DATETIME NOT NULL,
            expires_at DATETIME NOT NULL,
            revoked_at DATETIME,
            last_used_at DATETIME)""",
        """CREATE TABLE apps (
            id INTEGER PRIMARY KEY,
            name VARCHAR(63) NOT NULL UNIQUE,
            image VARCHAR(255) NOT NULL,
            port INTEGER NOT NULL,
            host_port INTEGER NOT NULL UNIQUE,
            command_json TEXT,
            desired_state VARCHAR(16) NOT NULL DEFAULT 'running',
            created_at DATETIME NOT NULL,
            updated_at DATETIME NOT NULL)""",
        """CREATE TABLE env_vars (
            id INTEGER PRIMARY KEY,
            app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
            key VARCHAR(255) NOT NULL,
            value_enc BLOB NOT NULL,
            UNIQUE (app_id, key))""",
        """CREATE TABLE activity (
            id INTEGER PRIMARY KEY,
            at DATETIME NOT NULL,
            actor VARCHAR(254) NOT NULL,
            action VARCHAR(64) NOT NULL,
            target VARCHAR(255) NOT NULL,
            detail TEXT)""",
        "CREATE INDEX ix_activity_at ON activity(at)",
        "CREATE INDEX ix_tokens_user ON tokens(user_id)",
    ):
        conn.execute(text(statement))


def _env_revisions_and_health(conn: Connection) -> None:
    """Issue #4: env revisions ("restart needed" when applied lags) and health checks.

    Health state (verdict, restart history) lives next to its config so the loop resumes
    where it was after an agent restart; probes and transitions are pruned per app.
    """
    for statement in (
        "ALTER TABLE apps ADD COLUMN env_revision INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE apps ADD COLUMN applied_env_revision INTEGER NOT NULL DEFAULT 0",
        """CREATE TABLE health_checks (
            app_id INTEGER PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
            config_json TEXT NOT NULL,
            status VARCHAR(8),
            reason TEXT,
            restarts_json TEXT NOT NULL DEFAULT '[]',
            gave_up INTEGER NOT NULL DEFAULT 0,
            updated_at DATETIME NOT NULL)""",
        """CREATE TABLE health_probes (
            id INTEGER PRIMARY KEY,
            app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
            at DATETIME NOT NULL,
            ok INTEGER NOT NULL,
            status_code INTEGER,
            latency_ms REAL,
            error TEXT)""",
        "CREATE INDEX ix_health_probes_app ON health_probes(app_id, id)",
        """CREATE TABLE health_events (
            id INTEGER PRIMARY KEY,
            app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
            at DATETIME NOT NULL,
            status VARCHAR(8),
            previous VARCHAR(8),
            reason TEXT NOT NULL)""",
        "CREATE INDEX ix_health_events_app ON health_events(app_id, id)",
    ):
        conn.execute(text(statement))


def _sources_and_deploys(conn: Connection) -> None:
    """Issue #5: an app's source (git or image) and its deploy history.

    ``requested`` keeps what the deploy asked for (a commit or an image) so a queued
    deploy can be run after it was recorded; ``commit`` is what was actually built.
    """
    for statement in (
        """CREATE TABLE app_sources (
            app_id INTEGER PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
            type VARCHAR(8) NOT NULL,
            url TEXT,
            branch VARCHAR(255),
            subdir TEXT,
            image VARCHAR(255),
            deploy_key_enc BLOB,
            updated_at DATETIME NOT NULL)""",
        """CREATE TABLE deploys (
            id VARCHAR(40) PRIMARY KEY,
            app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
            source_type VARCHAR(8) NOT NULL,
            requested VARCHAR(255),
            "commit" VARCHAR(40),
            commit_message TEXT,
            triggered_by VARCHAR(254) NOT NULL,
            status VARCHAR(16) NOT NULL,
            created_at DATETIME NOT NULL,
            started_at DATETIME,
            finished_at DATETIME,
            image_tag VARCHAR(255),
            error TEXT,
            dockerfile_generated INTEGER NOT NULL DEFAULT 0)""",
        "CREATE INDEX ix_deploys_app ON deploys(app_id, created_at)",
        "CREATE INDEX ix_deploys_status ON deploys(status)",
    ):
        conn.execute(text(statement))


def _resource_limits(conn: Connection) -> None:
    """Issue #7: per-app CPU and memory overrides; NULL means the global default applies,
    0 an explicit "no cap" that overrides a default."""
    for statement in (
        "ALTER TABLE apps ADD COLUMN cpus_limit REAL",
        "ALTER TABLE apps ADD COLUMN memory_limit INTEGER",
    ):
        conn.execute(text(statement))


MIGRATIONS: list[Step] = [_initial_schema, _env_revisions_and_health, _sources_and_deploys,
                          _resource_limits]


def schema_version(conn: Connection) -> int:
    return int(conn.execute(text("PRAGMA user_version")).scalar_one())


def migrate(conn: Connection, steps: list[Step] | None = None) -> int:
    """Apply every pending step; return the resulting schema version."""
    steps = MIGRATIONS if steps is None else steps
    current = schema_version(conn)
    if current > len(steps):
        raise RuntimeError(
            f"database schema version {current} is newer than this agent knows "
            f"({len(steps)}): upgrade the agent instead of downgrading it"
        )
    for number, step in enumerate(steps[current:], start=current + 1):
        step(conn)
        conn.execute(text(f"PRAGMA user_version = {number}"))
        conn.commit()
    return schema_version(conn)
