"""Metrics on a real agent and real Podman: a CPU-burning app shows its CPU, memory usage
and limit are visible, live ticks reach the event stream, an alert fires and clears, the
dashboard summary covers every app, and bad input is refused with the field named."""

from __future__ import annotations

import sqlite3

import pytest

from harness.agent import admin_token, start_configured
from harness.system import wait_until
from test_health import EventRecorder

FAST_STOP = ["--stop-timeout", "1"]
# Burns one core until /tmp/calm exists, then serves HTTP like the plain test image.
BURN = ["sh", "-c", "while [ ! -e /tmp/calm ]; do :; done; exec /bin/httpd -f -p 8080 -h /www"]


NAMES = ("burn", "idle", "capped", "web", "other")


@pytest.fixture(autouse=True)
def no_leftover_containers(podman_service):
    """A burning container left behind would slow every later test of the worker."""
    yield
    podman_service.cli("rm", "-f", "-t", "0", *(f"basepod-{n}" for n in NAMES), check=False)


@pytest.fixture
def metrics_agent(agent_factory):
    return start_configured(agent_factory, "metrics_interval = 1\n", extra_args=FAST_STOP)


@pytest.fixture
def mtoken(metrics_agent):
    return admin_token(metrics_agent)


def create(agent, token, name, image, command=None):
    status, app = agent.request("POST", "/api/apps", {"name": name, "image": image, "port": 8080,
                                                      "command": command}, token=token)
    assert status == 201, app
    return app


def metrics(agent, token, name, range_="1h"):
    status, body = agent.request("GET", f"/api/apps/{name}/metrics?range={range_}", token=token)
    assert status == 200, body
    return body


def points(agent, token, name, count):
    return wait_until(lambda: (m := metrics(agent, token, name))["series"]["t"][count - 1:] and m, 20,
                      f"{count} metric points of {name}")


def activity(agent, action):
    with sqlite3.connect(agent.state_dir / "agent.db") as db:
        return db.execute("SELECT actor, target, detail FROM activity WHERE action = ?", (action,)).fetchall()


def test_a_cpu_burning_app_shows_its_cpu_and_an_idle_one_does_not(metrics_agent, mtoken, busybox_image):
    create(metrics_agent, mtoken, "burn", busybox_image, BURN)
    create(metrics_agent, mtoken, "idle", busybox_image)
    burn = points(metrics_agent, mtoken, "burn", 4)
    idle = points(metrics_agent, mtoken, "idle", 4)
    # One core is 100 %; the test machine is shared, so only "clearly busy" is asserted.
    assert burn["stats"]["cpu"]["avg"] > 20 and burn["stats"]["cpu"]["avg"] > 10 * idle["stats"]["cpu"]["avg"]
    for body in (burn, idle):
        assert body["range"] == "1h" and body["resolution_seconds"] == 1 and body["interval_seconds"] == 1
        assert min(body["series"]["memory"]) > 0 and body["current"]["memory_bytes"] > 0
        assert body["current"]["pids"] >= 1 and body["series"]["memory_limit"][-1] is None  # uncapped
        assert body["cpu_limit"] is None
        assert body["series"]["t"] == sorted(body["series"]["t"])
    day = metrics(metrics_agent, mtoken, "burn", "24h")  # the open 1-minute bucket is already there
    assert day["resolution_seconds"] == 60 and day["series"]["cpu_max"][-1] > 20


def test_memory_usage_and_limits_set_on_the_container_show_in_the_metrics(metrics_agent, mtoken, busybox_image,
                                                                          podman_service):
    create(metrics_agent, mtoken, "capped", busybox_image)
    # The caps are read from Podman, whoever set them (podman 4.3 `update` does not apply
    # on cgroup v1 here, so the container is replaced by one created with caps).
    podman_service.cli("rm", "-f", "-t", "0", "basepod-capped")
    podman_service.cli("run", "-d", "--name", "basepod-capped", "--label", "basepod.app=capped",
                       "--memory", "64m", "--cpus", "0.5", busybox_image)
    body = wait_until(lambda: (m := metrics(metrics_agent, mtoken, "capped"))["current"]
                      and m["current"]["memory_limit_bytes"] and m["cpu_limit"] and m, 20, "limits in the metrics")
    assert body["current"]["memory_limit_bytes"] == 64 * 1024 * 1024 and body["cpu_limit"] == 0.5
    assert 0 < body["current"]["memory_bytes"] < 64 * 1024 * 1024
    assert body["series"]["memory_limit"][-1] == 64 * 1024 * 1024


def test_live_ticks_carry_every_running_app_and_the_summary_has_sparklines(metrics_agent, mtoken, busybox_image):
    create(metrics_agent, mtoken, "web", busybox_image)
    create(metrics_agent, mtoken, "other", busybox_image)
    metrics_agent.request("POST", "/api/apps/other/stop", token=mtoken)
    events = EventRecorder(metrics_agent, mtoken)
    try:
        wait_until(lambda: [e for e in events.events if e.type == "metrics" and e.samples], 15, "a metrics tick")
    finally:
        events.close()
    tick = next(e for e in events.events if e.type == "metrics" and e.samples)
    assert [s.app for s in tick.samples] == ["web"] and tick.interval_seconds == 1
    points(metrics_agent, mtoken, "web", 2)
    status, summary = metrics_agent.request("GET", "/api/metrics/summary?range=1h&points=30", token=mtoken)
    assert status == 200, summary
    lines = {a["app"]: a for a in summary["apps"]}
    assert set(lines) == {"web", "other"} and summary["bucket_seconds"] == 120
    assert lines["web"]["cpu"] and lines["web"]["memory"][-1] > 0 and lines["web"]["current"]["app"] == "web"
    assert lines["other"]["current"] is None
    week = metrics_agent.request("GET", "/api/metrics/summary?range=7d", token=mtoken)[1]
    assert 1 <= {a["app"]: len(a["t"]) for a in week["apps"]}["web"] <= 2  # an hourly bucket or two so far


def test_a_cpu_alert_fires_once_and_clears_when_the_load_goes(metrics_agent, mtoken, busybox_image, podman_service):
    create(metrics_agent, mtoken, "burn", busybox_image, BURN)
    status, report = metrics_agent.request("PUT", "/api/apps/burn/alerts",
                                           {"config": {"cpu_percent": 5, "for_seconds": 2}}, token=mtoken)
    assert status == 200 and not report["inherited"] and report["config"]["cpu_percent"] == 5, report
    events = EventRecorder(metrics_agent, mtoken)
    try:
        wait_until(lambda: [e for e in events.events if e.type == "metrics_alert"], 20, "an alert")
        fired = metrics_agent.request("GET", "/api/apps/burn/alerts", token=mtoken)[1]
        assert [a["metric"] for a in fired["active"]] == ["cpu"]
        podman_service.cli("exec", "basepod-burn", "touch", "/tmp/calm")
        wait_until(lambda: [e for e in events.events if e.type == "metrics_alert" and e.state == "cleared"], 20,
                   "the alert clearing")
    finally:
        events.close()
    alerts = [(e.metric, e.state) for e in events.events if e.type == "metrics_alert"]
    assert alerts == [("cpu", "fired"), ("cpu", "cleared")]
    first = next(e for e in events.events if e.type == "metrics_alert")
    assert first.app == "burn" and first.threshold == 5 and first.value > 5 and "of the host's" in first.message
    report = metrics_agent.request("GET", "/api/apps/burn/alerts", token=mtoken)[1]
    assert report["active"] == [] and report["recent"][0]["cleared_at"] and report["recent"][0]["value"] > 5
    assert [r[:2] for r in activity(metrics_agent, "metrics.alert")] == [("metrics", "burn")]
    assert [r[:2] for r in activity(metrics_agent, "metrics.recovered")] == [("metrics", "burn")]
    assert activity(metrics_agent, "metrics.alerts.configure")[0][1] == "burn"


def test_alert_defaults_come_from_agent_toml_and_an_app_can_go_back_to_them(agent_factory, busybox_image):
    agent = start_configured(agent_factory, "[metrics_alerts]\ncpu_percent = 85\nfor_seconds = 600\n",
                             extra_args=FAST_STOP)
    token = admin_token(agent)
    create(agent, token, "web", busybox_image)
    report = agent.request("GET", "/api/apps/web/alerts", token=token)[1]
    assert report["inherited"] and report["config"]["cpu_percent"] == 85 and report["config"]["for_seconds"] == 600
    off = agent.request("PUT", "/api/apps/web/alerts", {"config": {"enabled": False}}, token=token)[1]
    assert off["config"]["enabled"] is False and not off["inherited"]
    agent.restart()
    assert agent.request("GET", "/api/apps/web/alerts", token=token)[1]["config"]["enabled"] is False
    back = agent.request("PUT", "/api/apps/web/alerts", {"inherit": True}, token=token)[1]
    assert back["inherited"] and back["config"]["cpu_percent"] == 85


BAD = [
    ("GET", "/api/apps/web/metrics?range=2d", None, 422, "range"),
    ("GET", "/api/metrics/summary?points=1", None, 422, "points"),
    ("GET", "/api/apps/nope/metrics", None, 404, None),
    ("PUT", "/api/apps/web/alerts", {"config": {"cpu_percent": 150}}, 422, "config.cpu_percent"),
    ("PUT", "/api/apps/web/alerts", {"config": {"for_seconds": -1}}, 422, "config.for_seconds"),
    ("PUT", "/api/apps/web/alerts", {}, 422, None),
    ("PUT", "/api/apps/nope/alerts", {"inherit": True}, 404, None),
]


def test_bad_metrics_and_alert_requests_are_refused_with_the_field(agent, token, busybox_image):
    create(agent, token, "web", busybox_image)
    for method, path, body, code, field in BAD:
        status, error = agent.request(method, path, body, token=token)
        assert status == code and error["field"] == field, (path, body, error)
    assert agent.request("GET", "/api/apps/web/alerts", token=token)[1]["inherited"] is True


def test_deleting_an_app_deletes_its_metrics(metrics_agent, mtoken, busybox_image):
    create(metrics_agent, mtoken, "web", busybox_image)
    points(metrics_agent, mtoken, "web", 2)
    metrics_agent.request("DELETE", "/api/apps/web", token=mtoken)
    with sqlite3.connect(metrics_agent.state_dir / "agent.db") as db:
        assert db.execute("SELECT count(*) FROM metric_points").fetchone()[0] == 0


def test_stored_points_survive_an_agent_restart_and_collection_resumes(metrics_agent, mtoken, busybox_image):
    create(metrics_agent, mtoken, "web", busybox_image)
    before = points(metrics_agent, mtoken, "web", 3)["series"]["t"]
    day_before = metrics(metrics_agent, mtoken, "web", "24h")["series"]
    metrics_agent.restart()
    after = points(metrics_agent, mtoken, "web", len(before) + 2)["series"]["t"]
    assert after[:len(before)] == before and after[-1] > before[-1]
    day = metrics(metrics_agent, mtoken, "web", "24h")["series"]
    assert day["t"][0] == day_before["t"][0]  # the minute bucket resumed from its stored row
    with sqlite3.connect(metrics_agent.state_dir / "agent.db") as db:
        samples, weight = db.execute("SELECT (SELECT count(*) FROM metric_points WHERE res = 0), "
                                     "(SELECT sum(n) FROM metric_points WHERE res = 3600)").fetchone()
    assert weight == samples  # every raw sample is counted once in the hourly buckets
