"""Fleet overview, server profiles and start-up, without any agent behind them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from PySide6.QtWidgets import QMessageBox

from basepod_desktop.core.connection import ConnState
from basepod_desktop.core.fleet import CACHE_FILE, FleetCache, ServerSnapshot
from basepod_desktop.core.profiles import ProfileStore, ServerProfile
from basepod_agent.protocol import AppInfo, AppStatus


def _app(name: str, status: AppStatus, port: int) -> AppInfo:
    now = datetime.now(timezone.utc)
    return AppInfo(name=name, image="docker.io/library/nginx:1.27", port=80, host_port=port, command=None,
                   status=status, created_at=now - timedelta(days=2), started_at=now - timedelta(hours=3))


def test_offline_server_shows_last_known_snapshot_marked_stale(ui, make_app, tmp_path, artifacts_dir):
    seen = datetime.now(timezone.utc) - timedelta(hours=5)
    FleetCache(tmp_path / "config").save({"prod": ServerSnapshot(
        name="prod", updated_at=seen,
        apps=[_app("web", AppStatus.RUNNING, 20001), _app("api", AppStatus.RUNNING, 20002),
              _app("worker", AppStatus.EXITED, 20003)])})
    dead = ServerProfile(name="prod", host="127.0.0.1", port=1, user="root")
    app = make_app([dead])
    window = app.window
    conn = app.fleet.connection("prod")
    ui.wait_until(lambda: conn.status.state is ConnState.OFFLINE, what="prod to be offline")
    card = window.fleet_page.cards["prod"]
    ui.wait_until(lambda: card.stale.text().startswith("Stale"), what="stale marker")
    assert "2 running" in card.counts.text() and "1 exited" in card.counts.text()
    assert "5 h ago" in card.stale.text()
    ui.screenshot(window, "fleet-overview")

    window.show_server("prod")
    dash = window.dashboard
    assert dash.model.rowCount() == 3 and dash.model.stale
    assert not dash.buttons["start"].isEnabled() and not dash.new_button.isEnabled()
    assert dash.banner.isVisible() and "Offline" in dash.banner.message.text()
    assert "last known state" in dash.banner.message.text()
    ui.screenshot(window, "dashboard-offline-stale")


def test_add_server_dialog_validates_and_saves_profile_shared_with_bp(ui, make_app, tmp_path):
    app = make_app([])
    window = app.window
    dialog = window.add_server()
    dialog.name.setText("edge-1")
    dialog.save_button.click()
    assert dialog.isVisible() and dialog.errors["host"].isVisible()  # SSH needs a host
    dialog.host.setText("127.0.0.1")
    dialog.port.setValue(1)
    dialog.user.setText("deploy")
    dialog.use_file.setChecked(True)
    dialog.key_path.setText("~/.ssh/id_ed25519")
    ui.screenshot(dialog, "dialog-add-server")
    dialog.save_button.click()
    assert not dialog.isVisible()
    saved = ProfileStore(tmp_path / "config").get("edge-1")
    assert (saved.host, saved.port, saved.user, saved.key_path) == ("127.0.0.1", 1, "deploy", "~/.ssh/id_ed25519")
    assert "edge-1" in window.sidebar.rows and window.dashboard.server == "edge-1"
    ui.wait_until(lambda: app.fleet.connection("edge-1").status.state is ConnState.ERROR, what="error state")
    assert "does not exist" in window.dashboard.banner.message.text()  # the key file: a person must fix it

    window.remove_server("edge-1")
    box = window.findChild(QMessageBox, "ConfirmBox")
    remove = next(b for b in box.buttons() if b.text() == "Remove server")
    remove.click()
    ui.wait_until(lambda: "edge-1" not in window.sidebar.rows, what="server removed from the sidebar")
    assert ProfileStore(tmp_path / "config").list() == []


def test_settings_persist_close_to_tray_choice(ui, make_app, tmp_path):
    app = make_app([])
    app.window._set("close_to_tray", False)
    data = json.loads((tmp_path / "config" / "settings.json").read_text())
    assert data["close_to_tray"] is False
    assert (tmp_path / "config" / CACHE_FILE).parent.exists()


def test_log_lines_to_keep_is_a_saved_setting_applied_to_the_viewer(ui, make_app, tmp_path):
    app = make_app([])
    window = app.window
    assert window.detail.viewer.max_lines() == 10_000
    window._set("log_max_lines", 1_000)
    assert window.detail.viewer.max_lines() == 1_000
    saved = json.loads((tmp_path / "config" / "settings.json").read_text())
    assert saved["log_max_lines"] == 1_000

