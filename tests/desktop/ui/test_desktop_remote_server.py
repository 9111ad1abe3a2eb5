"""The desktop driving a real agent through a real sshd: login, apps, logs, reconnects."""

from __future__ import annotations

import re

from PySide6.QtWidgets import QMessageBox

from basepod_desktop.core.connection import ConnState
from basepod_desktop.ui import theme
from basepod_desktop.ui.dialogs.login import LoginDialog

from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, ssh_profile

TICKER = ["sh", "-c", 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.2; done']


def _ticks(viewer) -> list[int]:
    return [int(m.group(1)) for line in viewer.lines() if (m := re.search(r"tick (\d+)", line.text))]


def _status_of(app, server: str, name: str):
    info = app.fleet.snapshot(server).app(name)
    return info.status.value if info else None


def test_login_create_start_stop_follow_logs_and_survive_dropped_ssh(
        ui, make_app, agent_factory, sshd_server, busybox_image, podman_service, qapp):
    agent = agent_factory(extra_args=["--stop-timeout", "1"])  # sh as PID 1 ignores SIGTERM
    app = make_app([ssh_profile("prod", sshd_server, agent.socket_path)],
                   known_hosts=sshd_server.known_hosts_path)
    window, conn = app.window, app.fleet.connection("prod")
    states: list[ConnState] = []
    app.ctx.bridge.sig_status.connect(lambda name, s: states.append(s.state) if name == "prod" else None)

    # Selecting the server asks for a login once the tunnel is up.
    window.sidebar.select("prod")
    dialog = ui.wait_until(lambda: isinstance(window.prompts.get("prod"), LoginDialog) and window.prompts["prod"],
                           what="the login dialog")
    dialog.email.setText(ADMIN_EMAIL)
    dialog.password.setText("wrong password")
    dialog.login_button.click()
    ui.wait_until(lambda: dialog.error.isVisible(), what="the inline login error")
    ui.screenshot(dialog, "dialog-login-error")
    dialog.password.setText(ADMIN_PASSWORD)
    dialog.login_button.click()
    ui.wait_until(lambda: conn.status.is_connected, what="prod to connect")
    assert app.tokens.get("prod"), "remember stores the token"
    dash = window.dashboard
    ui.wait_until(lambda: dash.stack.currentWidget() is dash.empty, what="the empty state")
    ui.screenshot(window, "dashboard-empty")

    # Create: an agent-side error lands under its field; then a real app.
    create = dash.open_create_dialog()
    create.name.setText("ticker")
    create.image.setText("localhost/does-not-exist:1")
    create.create_button.click()
    ui.wait_until(lambda: create.errors["image"].isVisible(), what="the image error from the agent")
    ui.screenshot(create, "dialog-create-app-error")
    create.image.setText(busybox_image)
    create.command.setText(" ".join(["sh", "-c", "'" + TICKER[2] + "'"]))
    create.create_button.click()
    ui.wait_until(lambda: not create.isVisible(), timeout=60, what="the app to be created")
    ui.wait_until(lambda: _status_of(app, "prod", "ticker") == "running", what="ticker running")
    assert dash.model.rowCount() == 1 and dash.selected_app().name == "ticker"
    assert dash.model.url_of(dash.selected_app()).startswith("http://127.0.0.1:")
    ui.screenshot(window, "dashboard-apps")

    # Stop and start from the toolbar; the table follows the agent's state.
    dash.buttons["stop"].click()
    ui.wait_until(lambda: _status_of(app, "prod", "ticker") == "stopped", what="ticker stopped")
    ui.wait_until(lambda: dash.buttons["start"].isEnabled(), what="start enabled")
    assert dash.proxy.index(0, 1).data() == "stopped"
    dash.buttons["start"].click()
    ui.wait_until(lambda: _status_of(app, "prod", "ticker") == "running", what="ticker running again")


    # Details: overview facts and the live log.
    ui.wait_until(lambda: dash.selected_app() is not None and dash.buttons["details"].isEnabled(),
                  what="the details action")
    dash.trigger("details")
    detail = window.detail
    assert window.stack.currentWidget() is detail
    assert detail.fields["Image"].text() == busybox_image
    detail.tabs.setCurrentIndex(1)
    ui.wait_until(lambda: len(_ticks(detail.viewer)) >= 3, what="log lines")
    ui.screenshot(window, "app-detail-logs")
    detail.tabs.setCurrentIndex(0)
    ui.screenshot(window, "app-detail-overview")
    detail.tabs.setCurrentIndex(1)

    # A dropped SSH connection: reconnect, and the log stream carries on without gaps.
    before = max(_ticks(detail.viewer))
    states.clear()
    sshd_server.drop_connections()
    ui.wait_until(lambda: ConnState.RECONNECTING in states, what="the reconnecting state")
    ui.wait_until(lambda: conn.status.is_connected, timeout=40, what="the reconnect")
    ui.wait_until(lambda: max(_ticks(detail.viewer)) > before + 5, what="new log lines after the reconnect")
    ui.pump(0.3)
    lines = [(line.ts, line.text) for line in detail.viewer.lines()]
    assert len(lines) == len(set(lines)), f"no line shown twice: {lines}"
    ticks = _ticks(detail.viewer)
    current_run = ticks[len(ticks) - 1 - ticks[::-1].index(0):]  # the counter restarted with the app
    assert current_run == list(range(len(current_run))), "no line lost across the reconnect"
    assert detail.viewer.is_live()

    # An app dying on its own is a desktop notification (mirrored in the window) and tints the tray.
    container = app.fleet.snapshot("prod").app("ticker").container_id
    podman_service.cli("kill", container)
    ui.wait_until(lambda: any(n.title == "ticker stopped unexpectedly" for n in app.ctx.notifier.history),
                  what="the unexpected-stop notification")
    ui.wait_until(lambda: "1 crashed" in app.tray.icon.toolTip(), what="the tray tooltip")
    ui.screenshot(window, "app-detail-crashed")

    # The dashboard works again after the reconnect, and delete asks first.
    detail.sig_back_requested.emit()
    dash.select_app("ticker")
    dash.trigger("delete")
    box = ui.wait_until(lambda: window.findChild(QMessageBox, "ConfirmBox"), what="the confirmation")
    next(b for b in box.buttons() if b.text() == "Delete app").click()
    ui.wait_until(lambda: dash.model.rowCount() == 0, what="ticker deleted")

    theme.apply(qapp, dark=True)
    try:
        ui.screenshot(window, "dashboard-empty-dark")
    finally:
        theme.apply(qapp, dark=False)
