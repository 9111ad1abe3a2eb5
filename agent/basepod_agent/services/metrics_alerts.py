"""Alert thresholds on CPU and memory: fire after a sustained breach, clear after a sustained recovery.

A breach must last ``for_seconds`` without a sample under the threshold before the
alert fires, and the value must then stay under ``CLEAR_RATIO`` of the threshold for
``for_seconds`` again before it clears: a value hovering around the line raises one
alert, not a storm. Active alerts are stored, so an agent restart neither forgets one
nor fires it twice. Every fire and clear goes to the activity log and the event stream.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from basepod_agent.protocol.errors import ErrorCode
from basepod_agent.protocol.events import MetricsAlert
from basepod_agent.protocol.metrics import AlertConfig, AlertMetric, AlertRecord, AlertReport, AlertSettings
from basepod_agent.services import activity
from basepod_agent.services.env import app_row
from basepod_agent.services.errors import AgentError
from basepod_agent.services.events import EventBus
from basepod_agent.services.health_store import at_from
from basepod_agent.store.database import Database
from basepod_agent.store.models import App, MetricAlertConfig, MetricAlertRow

log = logging.getLogger(__name__)

ALERT_ACTOR = "metrics"
CLEAR_RATIO = 0.9
RECENT = 20
METRICS: tuple[AlertMetric, ...] = ("cpu", "memory")


@dataclass
class Watch:
    """One app's one measure: since when it has been over (or back under) the line."""

    over_since: float | None = None
    under_since: float | None = None
    active_id: int | None = None
    threshold: float = 0.0
    peak: float = 0.0


def _threshold(config: AlertConfig, metric: AlertMetric) -> float | None:
    return config.cpu_percent if metric == "cpu" else config.memory_percent


class MetricsAlerts:
    def __init__(self, db: Database, bus: EventBus, defaults: AlertConfig) -> None:
        self.db, self.bus, self.defaults = db, bus, defaults
        self.own: dict[str, AlertConfig] = {}
        self.watches: dict[tuple[str, AlertMetric], Watch] = {}
        self._bases: dict[str, tuple[str, str]] = {}

    def load(self) -> None:
        with self.db.session() as s:
            for cfg, name in s.execute(select(MetricAlertConfig.config_json, App.name)
                                       .join(App, App.id == MetricAlertConfig.app_id)):
                self.own[name] = AlertConfig.model_validate_json(cfg)
            for row, name in s.execute(select(MetricAlertRow, App.name).join(App, App.id == MetricAlertRow.app_id)
                                       .where(MetricAlertRow.cleared_at.is_(None))):
                self.watches[(name, row.metric)] = Watch(over_since=0.0, active_id=row.id,
                                                         threshold=row.threshold, peak=row.value)

    def config_for(self, app: str) -> AlertConfig:
        return self.own.get(app, self.defaults)

    # --- evaluation (the collector calls this once per tick) ------------------------------

    def observe(self, shares: dict[str, tuple[float, float]], running: set[str], now: float,
                bases: dict[str, tuple[str, str]] | None = None) -> None:
        """``shares``: app -> (CPU, memory) in percent of what the app may use.

        A running app without a share this tick (its container was just replaced) keeps
        its state; an app no longer running clears its alerts. ``bases`` names what each
        percentage is of ("its 0.5 CPU limit", "the host's 2 cores"), for the message.
        """
        self._bases = bases or {}
        for app, values in shares.items():
            config = self.config_for(app)
            for metric, value in zip(METRICS, values):
                limit = _threshold(config, metric) if config.enabled else None
                self._step(app, metric, value, limit, config.for_seconds, now)
        for (app, metric), watch in list(self.watches.items()):
            if app in running:
                continue
            if watch.active_id is not None:
                self._clear(app, metric, watch, 0.0, now, "the app is not running")
            self.watches.pop((app, metric), None)

    def _step(self, app: str, metric: AlertMetric, value: float, limit: float | None, hold: int, now: float) -> None:
        watch = self.watches.get((app, metric))
        if watch is None:
            if limit is None or value <= limit:
                return
            watch = self.watches[(app, metric)] = Watch()
        if watch.active_id is None:
            if limit is None or value <= limit:
                del self.watches[(app, metric)]
                return
            watch.over_since = watch.over_since if watch.over_since is not None else now
            if now - watch.over_since >= hold:
                self._fire(app, metric, watch, value, limit, now)
            return
        watch.peak = max(watch.peak, value)
        line = (limit if limit is not None else watch.threshold) * CLEAR_RATIO
        if limit is not None and value >= line:
            watch.under_since = None
            return
        watch.under_since = watch.under_since if watch.under_since is not None else now
        if limit is None or now - watch.under_since >= hold:
            reason = "alerting was switched off" if limit is None else None
            self._clear(app, metric, watch, value, now, reason)

    def _fire(self, app: str, metric: AlertMetric, watch: Watch, value: float, limit: float, now: float) -> None:
        at = at_from(now)
        basis = self._bases.get(app, ("its limit", "its limit"))[METRICS.index(metric)]
        message = f"{metric} at {value:.0f}% of {basis} (over {limit:g}% for {now - watch.over_since:.0f} s)"
        with self.db.session() as s:
            row = MetricAlertRow(app_id=app_row(s, app).id, metric=metric, threshold=limit, value=value,
                                 fired_at=at)
            s.add(row)
            activity.record(s, ALERT_ACTOR, "metrics.alert", app, message)
            s.flush()
            watch.active_id = row.id
        watch.threshold, watch.peak, watch.under_since = limit, value, None
        self.bus.publish(MetricsAlert(app=app, metric=metric, state="fired", value=round(value, 1),
                                      threshold=limit, message=message, at=at))

    def _clear(self, app: str, metric: AlertMetric, watch: Watch, value: float, now: float,
               reason: str | None) -> None:
        at = at_from(now)
        message = f"{metric} back to {value:.0f}% (peak {watch.peak:.0f}%)" if reason is None else \
            f"{metric} alert cleared: {reason}"
        with self.db.session() as s:
            row = s.get(MetricAlertRow, watch.active_id)
            if row is not None:
                row.cleared_at, row.value = at, watch.peak
            activity.record(s, ALERT_ACTOR, "metrics.recovered", app, message)
        watch.active_id, watch.over_since, watch.under_since = None, None, None
        self.bus.publish(MetricsAlert(app=app, metric=metric, state="cleared", value=round(value, 1),
                                      threshold=watch.threshold, message=message, at=at))

    # --- API ------------------------------------------------------------------------------

    def report(self, app: str) -> AlertReport:
        with self.db.session() as s:
            app_id = app_row(s, app).id
            rows = s.scalars(select(MetricAlertRow).where(MetricAlertRow.app_id == app_id)
                             .order_by(MetricAlertRow.id.desc()).limit(RECENT)).all()
        records = [AlertRecord(metric=r.metric, threshold=r.threshold, value=r.value, fired_at=r.fired_at,
                               cleared_at=r.cleared_at) for r in rows]
        return AlertReport(app=app, config=self.config_for(app), inherited=app not in self.own,
                           defaults=self.defaults, active=[r for r in records if r.cleared_at is None],
                           recent=records)

    def configure(self, actor: str, app: str, settings: AlertSettings) -> AlertReport:
        with self.db.session() as s:
            row = app_row(s, app)
            stored = s.get(MetricAlertConfig, row.id)
            if settings.inherit:
                if stored is not None:
                    s.delete(stored)
                activity.record(s, actor, "metrics.alerts.configure", app, "back to the server defaults")
            else:
                config = settings.config
                if stored is None:
                    stored = MetricAlertConfig(app_id=row.id, config_json="", updated_at=activity.utcnow())
                    s.add(stored)
                stored.config_json, stored.updated_at = config.model_dump_json(), activity.utcnow()
                activity.record(s, actor, "metrics.alerts.configure", app,
                                f"enabled={config.enabled} cpu={config.cpu_percent} memory={config.memory_percent} "
                                f"for={config.for_seconds}s")
        if settings.inherit:
            self.own.pop(app, None)
        else:
            self.own[app] = settings.config
        return self.report(app)

    def forget(self, app: str) -> None:
        self.own.pop(app, None)
        for key in [k for k in self.watches if k[0] == app]:
            del self.watches[key]


def defaults_from(raw: dict) -> AlertConfig:
    """The ``[metrics_alerts]`` table of agent.toml; a bad value stops the agent with the field named."""
    try:
        return AlertConfig.model_validate(raw)
    except ValueError as exc:
        raise AgentError(ErrorCode.INVALID_INPUT, f"[metrics_alerts] in agent.toml: {exc}") from exc
