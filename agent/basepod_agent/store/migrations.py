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


def _webhooks(conn: Connection) -> None:
    """Issue #6: per-app GitHub webhooks, their delivery history and the delivery ids
    already handled (replay refusal that survives restarts)."""
    for statement in (
        """CREATE TABLE webhooks (
            app_id INTEGER PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
            secret_enc BLOB NOT NULL,
            branch VARCHAR(255) NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            created_at DATETIME NOT NULL,
            secret_rotated_at DATETIME NOT NULL)""",
        """CREATE TABLE webhook_deliveries (
            id INTEGER PRIMARY KEY,
            app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
            delivery_id VARCHAR(100),
            at DATETIME NOT NULL,
            event VARCHAR(64),
            branch VARCHAR(255),
            "commit" VARCHAR(40),
            commit_message TEXT,
            repository VARCHAR(255),
            pusher VARCHAR(255),
            signature_ok INTEGER NOT NULL,
            result VARCHAR(16) NOT NULL,
            detail TEXT,
            deploy_id VARCHAR(40))""",
        "CREATE INDEX ix_webhook_deliveries_app ON webhook_deliveries(app_id, id)",
        """CREATE TABLE webhook_seen (
            app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
            delivery_id VARCHAR(100) NOT NULL,
            at DATETIME NOT NULL,
            PRIMARY KEY (app_id, delivery_id))""",
        "CREATE INDEX ix_webhook_seen_at ON webhook_seen(app_id, at)",
    ):
        conn.execute(text(statement))


def _routing_and_releases(conn: Connection) -> None:
    """Issue #6: custom domains, and each app's second host port for blue/green cutover.

    ``pending_json`` holds a cutover in flight (image, port, command of the new version)
    so an agent killed mid-switch can finish or undo it from facts, not guesses.
    """
    for statement in (
        """CREATE TABLE app_domains (
            domain VARCHAR(253) PRIMARY KEY,
            app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE)""",
        "CREATE INDEX ix_app_domains_app ON app_domains(app_id)",
        """CREATE TABLE app_routes (
            app_id INTEGER PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
            spare_port INTEGER NOT NULL UNIQUE,
            pending_json TEXT)""",
    ):
        conn.execute(text(statement))


def _metrics(conn: Connection) -> None:
    """Issue #7: resource metrics with roll-ups (raw, 1-minute, 10-minute) and alerts.

    ``metric_points`` is clustered on its key (WITHOUT ROWID), so a range read for one
    app and resolution is contiguous and the table carries no extra index.
    """
    for statement in (
        """CREATE TABLE metric_points (
            app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
            res INTEGER NOT NULL,
            t INTEGER NOT NULL,
            n INTEGER NOT NULL,
            cpu REAL NOT NULL,
            cpu_max REAL NOT NULL,
            mem REAL NOT NULL,
            mem_max INTEGER NOT NULL,
            mem_limit INTEGER,
            rx REAL NOT NULL,
            tx REAL NOT NULL,
            rd REAL NOT NULL,
            wr REAL NOT NULL,
            pids INTEGER NOT NULL,
            PRIMARY KEY (app_id, res, t)) WITHOUT ROWID""",
        """CREATE TABLE metric_alert_configs (
            app_id INTEGER PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
            config_json TEXT NOT NULL,
            updated_at DATETIME NOT NULL)""",
        """CREATE TABLE metric_alerts (
            id INTEGER PRIMARY KEY,
            app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
            metric VARCHAR(8) NOT NULL,
            threshold REAL NOT NULL,
            value REAL NOT NULL,
            fired_at DATETIME NOT NULL,
            cleared_at DATETIME)""",
        "CREATE INDEX ix_metric_alerts_app ON metric_alerts(app_id, id)",
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


MIGRATIONS: list[Step] = [_initial_schema, _env_revisions_and_health, _sources_and_deploys, _webhooks,
                          _routing_and_releases, _metrics, _resource_limits]


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
