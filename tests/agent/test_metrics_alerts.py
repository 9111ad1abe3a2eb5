"""Alert hysteresis on a real database: a value hovering at the threshold raises one alert,
not a storm; it clears only after staying under 90 % of the line for the hold time; an
active alert survives a restart without firing twice."""

from __future__ import annotations

import sqlite3

import pytest

from basepod_agent.config import load_config
from basepod_agent.protocol.metrics import AlertConfig, AlertSettings
from basepod_agent.services.events import EventBus
from basepod_agent.services.metrics_alerts import MetricsAlerts
from test_metrics_rollup import db  # noqa: F401 - the fixture

HOLD = 30


class Recorder(EventBus):
    def __init__(self) -> None:
        super().__init__()
        self.events = []

    def publish(self, event) -> None:
        self.events.append((event.metric, event.state))


def run(alerts, values, start=0.0, step=5.0):
    for i, value in enumerate(values):
        alerts.observe({"a": (value, 1.0)}, {"a"}, start + i * step)
    return start + len(values) * step


def test_a_value_hovering_at_the_line_fires_once_and_clears_once(db):  # noqa: F811
    bus = Recorder()
    alerts = MetricsAlerts(db, bus, AlertConfig(cpu_percent=80, for_seconds=HOLD))
    t = run(alerts, [85, 79, 85, 85, 85, 79, 85])  # never 30 s above in a row
    assert bus.events == []
    t = run(alerts, [85] * 8, t)
    assert bus.events == [("cpu", "fired")]
    t = run(alerts, [79, 85, 75, 85, 70, 81, 60, 85] * 3, t)  # dips, but never 30 s under 72
    assert bus.events == [("cpu", "fired")]
    run(alerts, [70] * 8, t)
    assert bus.events == [("cpu", "fired"), ("cpu", "cleared")]
    with sqlite3.connect(db.path) as conn:
        actions = [a for (a,) in conn.execute("SELECT action FROM activity ORDER BY id")]
    assert actions == ["metrics.alert", "metrics.recovered"]


def test_an_active_alert_survives_a_restart_and_clears_when_the_app_stops(db):  # noqa: F811
    bus = Recorder()
    alerts = MetricsAlerts(db, bus, AlertConfig(cpu_percent=50, for_seconds=0))
    run(alerts, [90])
    again = MetricsAlerts(db, bus, AlertConfig(cpu_percent=50, for_seconds=0))
    again.load()
    run(again, [95, 99])
    assert bus.events == [("cpu", "fired")] and again.report("a").active[0].threshold == 50
    again.observe({}, set(), 100.0)
    assert bus.events == [("cpu", "fired"), ("cpu", "cleared")]
    assert again.report("a").recent[0].value == 99 and again.report("a").active == []


def test_switching_an_app_off_clears_its_alert_and_stops_watching(db):  # noqa: F811
    bus = Recorder()
    alerts = MetricsAlerts(db, bus, AlertConfig(cpu_percent=50, for_seconds=0))
    run(alerts, [90])
    alerts.configure("admin@example.com", "a", AlertSettings(config=AlertConfig(enabled=False)))
    run(alerts, [90, 90])
    assert bus.events == [("cpu", "fired"), ("cpu", "cleared")]


def test_bad_metrics_settings_in_agent_toml_are_refused_naming_the_key(tmp_path):
    for text, word in (("metrics_interval = 0.1", "metrics_interval"),
                       ("[metrics_alerts]\ncpu_percent = 150", "cpu_percent"),
                       ("[metrics_alerts]\nfor_seconds = '5m'", "for_seconds"),
                       ("[metrics_alerts]\ncpu = 90", "takes only")):
        (tmp_path / "agent.toml").write_text(text + "\n")
        with pytest.raises(ValueError, match=word):
            load_config(tmp_path)
    (tmp_path / "agent.toml").write_text("metrics_interval = 5\n[metrics_alerts]\nmemory_percent = 95\n")
    config = load_config(tmp_path)
    assert config.metrics_interval == 5 and config.metrics_alerts == {"memory_percent": 95}
