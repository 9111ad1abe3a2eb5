"""Metrics in the desktop against a real agent and Podman: dashboard sparklines with live
ticks and usage-vs-limit bars, the Metrics tab's graphs, crosshair, range selector and
live growth, its empty state, and a tray notice when an alert fires."""

from __future__ import annotations

import pytest

from basepod_agent.protocol import MetricsRange
from basepod_desktop.ui.apps_model import COL_CPU, COL_MEMORY
from basepod_desktop.ui.widgets.sparkline import USAGE_ROLE

from conftest import open_app_on_local_agent
from harness.agent import admin_token, start_configured

BURN = ["sh", "-c", "while [ ! -e /tmp/calm ]; do :; done; exec /bin/httpd -f -p 8080 -h /www"]
NAMES = ("web", "burn", "capped", "idle")


@pytest.fixture
def metrics_agent(agent_factory, busybox_image, podman_service):
    agent = start_configured(agent_factory, "metrics_interval = 1\n", extra_args=["--stop-timeout", "1"])
    agent.token = token = admin_token(agent)
    for name, command in (("web", None), ("burn", BURN), ("capped", None), ("idle", None)):
        status, body = agent.request("POST", "/api/apps", {"name": name, "image": busybox_image, "port": 8080,
                                                           "command": command}, token=token)
        assert status == 201, body
    agent.request("POST", "/api/apps/idle/stop", token=token)
    # A memory cap as the limits feature will set it (the agent reads it from Podman), and
    # 6.5 MiB of it held in /dev/shm (tmpfs counts against the cap): above the 80 % line.
    podman_service.cli("rm", "-f", "-t", "0", "basepod-capped")
    podman_service.cli("run", "-d", "--name", "basepod-capped", "--label", "basepod.app=capped",
                       "--memory", "8m", busybox_image, "sh", "-c",
                       "dd if=/dev/zero of=/dev/shm/fill bs=512k count=13; exec /bin/httpd -f -p 8080 -h /www")
    yield agent
    podman_service.cli("rm", "-f", "-t", "0", *(f"basepod-{n}" for n in NAMES), check=False)


def _row(page, name):
    return page.model.row_of(name)


def test_dashboard_rows_show_live_sparklines_and_usage_against_the_limit(ui, make_app, metrics_agent):
    app = open_app_on_local_agent(ui, make_app, metrics_agent)
    app.window.show_server("box")
    page = app.window.dashboard
    model = page.model

    def usage(name, col):
        return model.index(_row(page, name), col).data(USAGE_ROLE)

    ui.wait_until(lambda: usage("burn", COL_CPU).values and usage("burn", COL_CPU).current
                  and usage("capped", COL_MEMORY).limit,
                  timeout=40, what="sparklines from live ticks")
    burn, capped = usage("burn", COL_CPU), usage("capped", COL_MEMORY)
    assert burn.current > usage("web", COL_CPU).current and burn.text.endswith("%") and burn.limit is None
    assert capped.limit == 8 * 1024 * 1024 and capped.level in ("warning", "danger")
    assert capped.text.endswith("% of 8.0 MiB")
    assert usage("web", COL_MEMORY).limit is None and usage("web", COL_MEMORY).level is None  # no bar
    assert usage("idle", COL_CPU).current is None and usage("idle", COL_CPU).text == "—"
    page.metrics.range_box.setCurrentIndex(2)  # 7 days: one summary call for every row
    ui.wait_until(lambda: model.feed.range is MetricsRange.WEEK, what="the week summary")
    page.metrics.range_box.setCurrentIndex(0)
    ui.wait_until(lambda: model.feed.range is MetricsRange.HOUR and usage("burn", COL_CPU).values,
                  what="the hour summary")
    app.window.resize(1560, 520)
    ui.screenshot(app.window, "dashboard-metrics")


def test_metrics_tab_plots_every_series_follows_the_crosshair_and_grows_live(ui, make_app, metrics_agent):
    app = open_app_on_local_agent(ui, make_app, metrics_agent)
    app.window.show_app("box", "capped")
    tab = app.window.detail.metrics_tab
    app.window.detail.tabs.setCurrentWidget(tab)
    ui.wait_until(lambda: tab.metrics is not None and len(tab.metrics.series.t) >= 2, timeout=30,
                  what="metric points")
    assert tab.stack.currentWidget() is tab.plots_box
    for name in ("cpu", "cpu_max", "memory", "memory_limit", "net_rx", "net_tx", "block_read", "block_write"):
        assert len(tab.curves[name].getData()[0]) >= 2, name
    assert tab.curves["memory_limit"].getData()[1][-1] == pytest.approx(8.0)  # MiB
    assert "memory limit 8.0 MiB" in tab.limits.text()
    count = len(tab.metrics.series.t)
    ui.wait_until(lambda: len(tab.metrics.series.t) > count + 1, timeout=20, what="live points")
    first = tab.metrics.series.t[0]
    assert tab.show_values_at(first - 100) == 0 and "CPU" in tab.readout.text()
    assert all(c.isVisible() or not tab.isVisible() for c in tab.cursors) and tab.cursors[0].value() == first
    app.window.resize(1200, 860)
    ui.screenshot(app.window, "metrics-tab")
    tab.range_box.setCurrentIndex(1)
    ui.wait_until(lambda: tab.metrics.range is MetricsRange.DAY, what="the 24 h view")
    assert tab.metrics.resolution_seconds == 60


def test_metrics_tab_of_a_stopped_app_shows_the_empty_state(ui, make_app, metrics_agent):
    app = open_app_on_local_agent(ui, make_app, metrics_agent)
    app.window.show_app("box", "idle")
    tab = app.window.detail.metrics_tab
    app.window.detail.tabs.setCurrentWidget(tab)
    ui.wait_until(lambda: tab.metrics is not None, what="the metrics answer")
    assert tab.stack.currentWidget() is tab.empty and tab.headline.text() == "Not running"
    app.window.resize(1000, 620)
    ui.screenshot(app.window, "metrics-tab-empty")


def test_an_alert_raises_a_notice_and_its_recovery_another(ui, make_app, metrics_agent, podman_service):
    status, body = metrics_agent.request("PUT", "/api/apps/burn/alerts", {"config": {"cpu_percent": 5,
                                                                                     "for_seconds": 1}},
                                         token=metrics_agent.token)
    assert status == 200, body
    app = open_app_on_local_agent(ui, make_app, metrics_agent)
    titles = lambda: [n.title for n in app.ctx.notifier.history]  # noqa: E731
    ui.wait_until(lambda: "burn: high cpu" in titles(), timeout=30, what="the alert notice")
    app.window.show_app("box", "burn")
    tab = app.window.detail.metrics_tab
    app.window.detail.tabs.setCurrentWidget(tab)
    ui.wait_until(lambda: "over 5% since" in tab.alert_line.text(), what="the active alert on the Metrics tab")
    assert tab.alert_line.text().startswith("Alerts: CPU above 5% for 1 s")
    app.window.resize(1200, 860)
    ui.screenshot(app.window, "metrics-tab-alert")
    podman_service.cli("exec", "basepod-burn", "touch", "/tmp/calm")
    ui.wait_until(lambda: "burn: cpu back to normal" in titles(), timeout=30, what="the recovery notice")
