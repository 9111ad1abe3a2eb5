"""Persistence of health checks: config and resumable state, probes and transitions.

Probes arrive at up to (apps / interval) per second, so they are written in batches
from a worker thread; rows beyond ``KEEP_*`` per app are pruned periodically, which
bounds the tables whatever the uptime.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import insert, select, text

from basepod_agent.protocol.health import HealthConfig, HealthProbe, HealthTransition
from basepod_agent.protocol.health_status import HealthStatus
from basepod_agent.services import activity
from basepod_agent.store.database import Database
from basepod_agent.store.models import App, HealthCheck, HealthEventRow, HealthProbeRow

KEEP_PROBES = 200
KEEP_EVENTS = 200
RECENT = 20


@dataclass
class StoredCheck:
    app_id: int
    app: str
    host_port: int
    config: HealthConfig
    status: HealthStatus | None
    reason: str | None
    restarts: list[float]
    gave_up: bool
    recent: list[HealthProbe]


def probe_model(row: HealthProbeRow) -> HealthProbe:
    return HealthProbe(at=row.at, ok=row.ok, status_code=row.status_code,
                       latency_ms=row.latency_ms, error=row.error)


def transition_model(row: HealthEventRow) -> HealthTransition:
    return HealthTransition(at=row.at, status=HealthStatus(row.status) if row.status else HealthStatus.RED,
                            previous=HealthStatus(row.previous) if row.previous else None, reason=row.reason)


class HealthStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def load(self) -> list[StoredCheck]:
        with self.db.session() as s:
            rows = s.execute(select(HealthCheck, App.name, App.host_port).join(App, App.id == HealthCheck.app_id))
            checks = []
            for check, name, host_port in rows:
                checks.append(StoredCheck(
                    app_id=check.app_id, app=name, host_port=host_port,
                    config=HealthConfig.model_validate_json(check.config_json),
                    status=HealthStatus(check.status) if check.status else None, reason=check.reason,
                    restarts=json.loads(check.restarts_json), gave_up=check.gave_up,
                    recent=self._probes(s, check.app_id, RECENT)[::-1],
                ))
            return checks

    def load_one(self, app_id: int) -> StoredCheck | None:
        return next((c for c in self.load() if c.app_id == app_id), None)

    def save_config(self, actor: str, app: str, app_id: int, config: HealthConfig) -> None:
        with self.db.session() as s:
            row = s.get(HealthCheck, app_id)
            if row is None:
                row = HealthCheck(app_id=app_id, config_json="", restarts_json="[]", gave_up=False,
                                  updated_at=activity.utcnow())
                s.add(row)
            row.config_json = config.model_dump_json()
            row.restarts_json, row.gave_up = "[]", False
            row.updated_at = activity.utcnow()
            activity.record(s, actor, "health.configure", app,
                            f"enabled={config.enabled} path={config.path} interval={config.interval_seconds:g}")

    def save_transition(self, app_id: int, change: HealthTransition, restarts: list[float], gave_up: bool) -> None:
        with self.db.session() as s:
            s.add(HealthEventRow(app_id=app_id, at=change.at, reason=change.reason[:1000],
                                 status=change.status.value if change.status else None,
                                 previous=change.previous.value if change.previous else None))
            row = s.get(HealthCheck, app_id)
            if row is not None:
                row.status = change.status.value if change.status else None
                row.reason = change.reason[:1000]
                row.restarts_json, row.gave_up = json.dumps(restarts), gave_up
                row.updated_at = change.at

    def add_probes(self, batch: list[tuple[int, HealthProbe]]) -> None:
        """Runs in a worker thread: one transaction for the whole batch.

        Probes of an app deleted since they were taken are dropped, not a failed batch.
        """
        with self.db.session() as s:
            alive = set(s.scalars(select(App.id).where(App.id.in_({app_id for app_id, _ in batch}))))
            batch = [(app_id, p) for app_id, p in batch if app_id in alive]
            if batch:  # a Core executemany: ORM objects cost more than the probes themselves
                s.execute(insert(HealthProbeRow), [
                    {"app_id": app_id, "at": p.at, "ok": p.ok, "status_code": p.status_code,
                     "latency_ms": p.latency_ms, "error": p.error} for app_id, p in batch])

    def prune(self) -> None:
        with self.db.session() as s:
            for table, keep in (("health_probes", KEEP_PROBES), ("health_events", KEEP_EVENTS)):
                s.execute(text(
                    f"DELETE FROM {table} WHERE id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER "
                    f"(PARTITION BY app_id ORDER BY id DESC) AS rn FROM {table}) WHERE rn > :keep)"
                ), {"keep": keep})

    def _probes(self, s, app_id: int, limit: int) -> list[HealthProbe]:
        rows = s.scalars(select(HealthProbeRow).where(HealthProbeRow.app_id == app_id)
                         .order_by(HealthProbeRow.id.desc()).limit(limit))
        return [probe_model(r) for r in rows]

    def history(self, app_id: int, limit: int) -> tuple[list[HealthProbe], list[HealthTransition]]:
        """Newest first."""
        with self.db.session() as s:
            events = s.scalars(select(HealthEventRow).where(HealthEventRow.app_id == app_id)
                               .order_by(HealthEventRow.id.desc()).limit(limit))
            return self._probes(s, app_id, limit), [transition_model(e) for e in events]


def at_from(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, tz=timezone.utc)
