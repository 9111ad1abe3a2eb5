"""Resource limits on the app page, against a real agent (local Unix socket) and Podman:
the Overview rows, the limits dialog with local and agent errors under their fields, and
an out-of-memory kill shown on the page and in a notification."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, open_app_on_local_agent

MiB = 1024 * 1024
# Waits for a go signal, then grows without bound: killed at its cap.
HOG = ["sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.1; done; tail /dev/zero"]


@pytest.fixture
def capped_agent(agent_factory, busybox_image):
    agent = agent_factory(extra_args=["--stop-timeout", "1", "--default-memory", "64M"])
    token = agent.request("POST", "/api/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})[1]["token"]
    for name, command in (("web", None), ("hog", HOG)):
        status, body = agent.request("POST", "/api/apps", {"name": name, "image": busybox_image, "port": 8080,
                                                           "command": command}, token=token)
        assert status == 201, body
    return agent


def test_limits_dialog_validates_saves_and_the_overview_shows_where_each_cap_comes_from(
        ui, make_app, capped_agent, podman_service):
    app = open_app_on_local_agent(ui, make_app, capped_agent)
    window, rows = app.window, app.window.detail.limits_rows
    ui.wait_until(lambda: "(server default)" in rows.memory.text(), what="the limits rows")
    assert rows.memory.text() == "64 MiB (server default)" and rows.cpus.text() == "no cap (server default)"
    ui.screenshot(window, "app-overview-limits")

    dialog = rows.open_dialog()
    assert dialog.cpus.text() == "" and "64 MiB" in dialog.memory.placeholderText()
    dialog.memory.setText("5M")
    dialog.cpus.setText("lots")
    dialog.save_button.click()
    assert dialog.isVisible()
    assert "at least 6 MiB" in dialog.errors["memory"].text() and dialog.errors["memory"].isVisible()
    assert "not a number" in dialog.errors["cpus"].text()
    ui.screenshot(dialog, "dialog-limits-error")

    dialog.memory.setText("32M")
    dialog.cpus.setText("4096")
    dialog.host_cpus = 100_000  # skip the local check: the agent's own answer must show under the field
    dialog.save_button.click()
    ui.wait_until(lambda: dialog.errors["cpus"].isVisible() and "more than this server has"
                  in dialog.errors["cpus"].text(), what="the agent's error under CPUs")
    assert dialog.isVisible()

    dialog.cpus.setText("0.5")
    dialog.save_button.click()
    ui.wait_until(lambda: not dialog.isVisible(), what="the limits to be saved")
    ui.wait_until(lambda: rows.cpus.text() == "0.5 CPUs" and rows.memory.text() == "32 MiB", what="new rows")
    assert any(n.title == "Limits of web saved" and "recreated" in n.text for n in app.ctx.notifier.history)
    host = json.loads(podman_service.cli("inspect", "basepod-web").stdout)[0]["HostConfig"]
    assert (host["Memory"], host["CpuQuota"]) == (32 * MiB, 50_000)

    dialog = rows.open_dialog()
    assert (dialog.cpus.text(), dialog.memory.text()) == ("0.5", "32M")
    ui.screenshot(dialog, "dialog-limits")
    dialog.reject()

    token = capped_agent.request("POST", "/api/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})[1]
    capped_agent.request("PUT", "/api/apps/web/limits", {"memory": None}, token=token["token"])  # as bp would
    window.detail.show_app("box", "web")
    app.ctx.tasks.run(app.fleet.get_app("box", "web"), what="refresh")
    ui.wait_until(lambda: rows.memory.text() == "64 MiB (server default)", what="a change made elsewhere")


def test_an_app_killed_for_memory_says_so_on_its_page_and_in_a_notification(ui, make_app, capped_agent,
                                                                            podman_service):
    app = open_app_on_local_agent(ui, make_app, capped_agent)
    window = app.window
    window.show_app("box", "hog")
    state = window.detail.fields["State"]
    ui.wait_until(lambda: state.text() == "running", what="the hog running")
    podman_service.cli("exec", "basepod-hog", "touch", "/tmp/go")
    ui.wait_until(lambda: "out of memory" in state.text(), timeout=30, what="the OOM kill on the page")
    assert state.text() == "exited — killed: out of memory (limit 64 MiB)"
    assert window.detail.fields["Exit code"].text() == "137"
    ui.wait_until(lambda: any(n.title == "hog stopped unexpectedly" and "out of memory (limit 64 MiB)" in n.text
                              for n in app.ctx.notifier.history), what="the notification")
    ui.screenshot(window, "app-overview-oom")
    window.show_server("box")
    rows = window.dashboard.model
    hog = next(r for r in range(rows.rowCount()) if rows.index(r, 0).data() == "hog")
    assert rows.index(hog, 1).data(Qt.ItemDataRole.ToolTipRole) == "killed: out of memory (limit 64 MiB)"
