"""Env and health on the app page, against a real agent (local Unix socket) and Podman.

Env: edit in the table and as .env text, review the diff, save, "restart needed", apply,
and the value reaches the container; a stale revision is a conflict with a reload; a
bad key in the text names its line and saves nothing; a non-admin sees names only.
Health: configure from the dialog, the dot goes green then red, a notification is
raised, and the timeline shows the probes.
"""

from __future__ import annotations

import urllib.request
from datetime import timedelta

import pytest

from basepod_agent.protocol.auth import Role
from basepod_agent.services.auth import AuthService
from basepod_agent.store.database import Database
from basepod_desktop.ui import theme
from basepod_desktop.ui.env_model import COL_KEY, COL_REVEAL, COL_VALUE, MASK

from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, open_app_on_local_agent

FAST_STOP = ["--stop-timeout", "1"]  # busybox httpd as PID 1 ignores SIGTERM


@pytest.fixture
def fast_agent(agent_factory):
    """Sub-second probe intervals allowed (agent.toml), so the health test stays fast."""
    agent = agent_factory(start=False, extra_args=FAST_STOP)
    agent.state_dir.mkdir(parents=True, exist_ok=True)
    (agent.state_dir / "agent.toml").write_text("health_min_interval = 0.2\n")
    return agent.start()


def _open(ui, make_app, agent, busybox_image, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, env=None):
    """A started desktop connected to ``agent`` over its socket, showing app "web"."""
    if env is not None:
        status, body = agent.request("POST", "/api/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        token = body["token"]
        status, body = agent.request("POST", "/api/apps", {"name": "web", "image": busybox_image, "port": 8080,
                                                           "env": env}, token=token)
        assert status == 201, body
    return open_app_on_local_agent(ui, make_app, agent, email, password)


def _token(agent) -> str:
    return agent.request("POST", "/api/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})[1]["token"]


def _container_env(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/cgi-bin/env", timeout=3) as resp:
            return resp.read().decode()
    except OSError:
        return None


def test_env_edit_review_save_apply_reaches_the_container_and_conflicts_reload(
        ui, make_app, fast_agent, busybox_image, qapp):
    app = _open(ui, make_app, fast_agent, busybox_image, env={"GREETING": "hello", "MODE": "dev"})
    window, detail = app.window, app.window.detail
    env = detail.env_tab
    detail.tabs.setCurrentWidget(env)
    ui.wait_until(lambda: env.loaded, what="the env to load")
    model = env.model
    assert env.draft.rows == [("GREETING", "hello"), ("MODE", "dev")]
    assert model.index(0, COL_VALUE).data() == MASK, "values are masked by default"
    env.table.clicked.emit(model.index(0, COL_REVEAL))
    assert model.index(0, COL_VALUE).data() == "hello" and model.index(0, COL_REVEAL).data() == "Hide"

    # Table edits: change a value, add a row; undo takes back one step.
    assert model.setData(model.index(0, COL_VALUE), "bonjour")
    env.trigger("add")
    row = model.rowCount() - 1
    ui.pump(0.05)
    env.table.closePersistentEditor(model.index(row, COL_KEY))
    assert not env.buttons["save"].isEnabled() and "needs a name" in env.problems.text()
    model.setData(model.index(row, COL_KEY), "EXTRA")
    model.setData(model.index(row, COL_VALUE), "x")
    env.trigger("undo")
    assert env.draft.rows[row] == ("EXTRA", "")
    model.setData(model.index(row, COL_VALUE), "temporary")
    ui.screenshot(window, "app-env-edited")

    # Bulk text: a bad key names its line and cannot be applied; then a valid text.
    bulk = env.open_bulk()
    assert "GREETING=bonjour" in bulk.editor.toPlainText()
    bulk.editor.setPlainText("GREETING=bonjour\n# a comment\n2FAST=nope\n")
    assert bulk.error.text().startswith("Line 3:") and not bulk.apply_button.isEnabled()
    bulk.submit()
    assert bulk.isVisible() and env.draft.current.get("2FAST") is None
    ui.screenshot(bulk, "dialog-env-bulk-error")
    bulk.editor.setPlainText('GREETING=bonjour\nWELCOME="two words # not a comment"\n')
    assert bulk.apply_button.isEnabled()
    ui.screenshot(bulk, "dialog-env-bulk")
    bulk.apply_button.click()
    assert env.draft.current == {"GREETING": "bonjour", "WELCOME": "two words # not a comment"}
    assert fast_agent.request("GET", "/api/apps/web/env", token=_token(fast_agent))[1]["revision"] == 1, \
        "nothing is sent before Review & save"

    # Review: the diff lists each change; saving marks the app "restart needed".
    review = env.review()
    assert [(m, k) for m, k, _b, _a in review.rows()] == [("+", "WELCOME"), ("~", "GREETING"), ("−", "MODE")]
    assert review.table.item(0, 3).text() == MASK
    ui.screenshot(review, "dialog-env-diff")
    review.show_values.setChecked(True)
    assert review.table.item(1, 3).text() == "bonjour"
    review.save_button.click()
    ui.wait_until(lambda: env.draft.revision == 2 and not env.draft.dirty, what="the env to be saved")
    ui.wait_until(lambda: app.fleet.snapshot("box").app("web").restart_needed, what="restart needed")
    ui.wait_until(lambda: detail.restart_callout.isVisible(), what="the restart-needed callout")
    ui.screenshot(window, "app-env-restart-needed")
    window.show_server("box")
    window.dashboard.select_app("web")
    assert window.dashboard.buttons["apply"].isVisible()
    ui.screenshot(window, "dashboard-restart-needed")
    window.show_app("box", "web")
    detail.tabs.setCurrentWidget(env)

    # Apply: the container is recreated and sees the new values.
    detail.restart_callout.buttons["apply"].click()
    ui.wait_until(lambda: not app.fleet.snapshot("box").app("web").restart_needed, timeout=60, what="applied")
    assert not detail.restart_callout.isVisible()
    port = app.fleet.snapshot("box").app("web").host_port
    seen = ui.wait_until(lambda: _container_env(port), timeout=30, what="the env CGI")
    assert "GREETING=bonjour" in seen and "WELCOME=two words # not a comment" in seen and "MODE=" not in seen

    # Someone else saves meanwhile: our save is a conflict, nothing is overwritten, reload shows theirs.
    assert model.setData(model.index(0, COL_VALUE), "mine")
    status, _ = fast_agent.request("PUT", "/api/apps/web/env", {"env": {"GREETING": "theirs"}},
                                   token=_token(fast_agent))
    assert status == 200
    env.review().save_button.click()
    ui.wait_until(lambda: env.callout.isVisible() and "Someone else" in env.callout.message.text(),
                  what="the conflict message")
    assert fast_agent.request("GET", "/api/apps/web/env", token=_token(fast_agent))[1]["env"] == {"GREETING": "theirs"}
    ui.screenshot(window, "app-env-conflict")
    env.callout.buttons["reload"].click()
    ui.wait_until(lambda: env.draft.current == {"GREETING": "theirs"} and not env.callout.isVisible(),
                  what="the reload")

    # The same tab in the dark theme.
    try:
        theme.apply(qapp, dark=True)
        ui.screenshot(window, "app-env-dark")
    finally:
        theme.apply(qapp, dark=False)


def test_env_import_file_reports_the_line_and_non_admins_see_names_only(
        ui, make_app, fast_agent, busybox_image, tmp_path):
    fast_agent.request("POST", "/api/apps", {"name": "web", "image": busybox_image, "port": 8080,
                                            "env": {"SECRET_KEY": "abc"}}, token=_token(fast_agent))
    db = Database(fast_agent.state_dir / "agent.db")
    try:
        AuthService(db, timedelta(hours=1)).create_user("dep@example.com", "deployer password 1", Role.DEPLOYER)
    finally:
        db.close()
    app = _open(ui, make_app, fast_agent, busybox_image, email="dep@example.com", password="deployer password 1")
    env = app.window.detail.env_tab
    app.window.detail.tabs.setCurrentWidget(env)
    ui.wait_until(lambda: env.model.locked and env.callout.isVisible(), what="the admins-only message")
    assert "Only admins" in env.callout.message.text()
    assert env.model.index(0, COL_KEY).data() == "SECRET_KEY" and env.model.index(0, COL_VALUE).data() == MASK
    env.table.clicked.emit(env.model.index(0, COL_REVEAL))
    assert env.model.index(0, COL_VALUE).data() == MASK, "no reveal without the values"
    assert not env.buttons["save"].isEnabled() and not env.buttons["add"].isEnabled()
    ui.screenshot(app.window, "app-env-not-admin")

    # Import parses with the shared parser: a bad line is named and nothing changes.
    env.loaded = True
    env.model.set_locked(None)
    bad = tmp_path / "bad.env"
    bad.write_text("OK=1\nexport ALSO_OK='2'\nnot a line\n")
    assert not env.import_file(bad) and "line 3" in env.callout.message.text() and env.draft.current == {}
    good = tmp_path / "prod.env"
    good.write_text("# prod\nexport DB_URL='postgres://db/app'\nWORKERS=4\n")
    assert env.import_file(good) and env.draft.current == {"DB_URL": "postgres://db/app", "WORKERS": "4"}


def test_health_check_from_the_dialog_goes_green_then_red_with_a_notification_and_timeline(
        ui, make_app, fast_agent, busybox_image, podman_service, qapp):
    app = _open(ui, make_app, fast_agent, busybox_image, env={})
    window, detail = app.window, app.window.detail
    health = detail.health_tab
    detail.tabs.setCurrentWidget(health)
    ui.wait_until(lambda: health.stack.currentWidget() is health.empty, what="the no-health-check empty state")
    ui.screenshot(window, "app-health-empty")

    dialog = health.configure()
    dialog.path.setText("/cgi-bin/health")
    dialog.interval.setValue(0.3)
    dialog.timeout.setValue(0.5)
    dialog.save_button.click()
    assert dialog.isVisible() and "timeout" in dialog.errors["timeout"].text(), "checked before sending"
    dialog.timeout.setValue(0.3)
    dialog.threshold.setValue(2)
    dialog.grace.setValue(0.5)
    dialog.auto_restart.setChecked(False)
    ui.screenshot(dialog, "dialog-health-config")
    dialog.save_button.click()
    ui.wait_until(lambda: not dialog.isVisible(), what="the health check to be saved")

    web = lambda: app.fleet.snapshot("box").app("web")  # noqa: E731
    ui.wait_until(lambda: web().health is not None and web().health.value == "green", what="green")
    ui.wait_until(lambda: health.stack.currentWidget() is health.scroll and health.timeline.probe_count >= 3,
                  what="probes on the timeline")
    assert health.verdict.text() == "Healthy" and "/cgi-bin/health" in health.summary.text()

    podman_service.cli("exec", "basepod-web", "touch", "/tmp/unhealthy")
    ui.wait_until(lambda: web().health.value == "red", what="red")
    ui.wait_until(lambda: any(n.title == "web is unhealthy" and n.level == "error"
                              for n in app.ctx.notifier.history), what="the unhealthy notification")
    assert "1 unhealthy" in app.tray.icon.toolTip()
    ui.wait_until(lambda: health.verdict.text() == "Unhealthy" and health.timeline.events.count() >= 2,
                  what="the red transition in the events list")
    assert health.timeline.band.spans()[-1][2] == "red"
    ui.screenshot(window, "app-health-red")
    try:
        theme.apply(qapp, dark=True)
        health.timeline.restyle()
        ui.screenshot(window, "app-health-dark")
    finally:
        theme.apply(qapp, dark=False)
        health.timeline.restyle()

    window.show_server("box")
    assert window.dashboard.model.index(0, 2).data() == "unhealthy"
    ui.screenshot(window, "dashboard-health")
    window.show_overview()
    ui.wait_until(lambda: "1 unhealthy" in window.fleet_page.cards["box"].health.text(), what="the fleet card")
    ui.screenshot(window, "fleet-health")
