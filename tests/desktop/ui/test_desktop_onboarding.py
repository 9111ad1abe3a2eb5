"""Add server -> install the agent -> a managed server, in the real desktop, over the real
sshd fixture; then Diagnostics and Upgrade agent. Screenshots of every screen."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import ssh_profile
from harness.system import short_tmpdir

from basepod_agent.protocol.version import PROTOCOL_VERSION
from basepod_desktop.core import agent_service
from basepod_desktop.core.connection import ConnState
from basepod_desktop.core.onboarding import inspect_host
from basepod_desktop.core.onboarding_model import StepStatus
from basepod_desktop.transport.remote import RemoteHost
from basepod_desktop.ui.dialogs.server_setup import InstallWizard

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"


@pytest.fixture
def vps(monkeypatch, tmp_path_factory):
    """A fresh install location on "the server" (this machine through sshd); the agent
    started there is stopped at teardown through its pidfile."""
    base = short_tmpdir("bp-ui-ob-")
    monkeypatch.setenv("BASEPOD_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "wheels"))
    yield base
    pidfile = base / "state" / "agent.pid"
    if pidfile.exists():
        try:
            os.kill(int(pidfile.read_text()), 15)
        except (ProcessLookupError, ValueError):
            pass
    shutil.rmtree(base, ignore_errors=True)


def _fill_server_dialog(dialog, sshd) -> None:
    dialog.name.setText("vps")
    dialog.host.setText(sshd.host)
    dialog.port.setValue(sshd.port)
    dialog.user.setText(sshd.user)
    dialog.use_file.setChecked(True)
    dialog.key_path.setText(str(sshd.client_key))
    dialog.install_agent.setChecked(True)


def test_a_fresh_server_is_installed_retried_diagnosed_and_upgraded_from_the_desktop(
        ui, make_app, sshd_server, podman_service, vps):
    app = make_app([], known_hosts=sshd_server.known_hosts_path)
    window = app.window
    dialog = window.add_server()
    _fill_server_dialog(dialog, sshd_server)
    assert not dialog.socket.isEnabled()  # the install decides the socket
    ui.screenshot(dialog, "add-server-install")
    dialog.submit()
    wizard = ui.wait_until(lambda: window.findChild(InstallWizard), what="the install wizard")
    ui.wait_until(lambda: wizard.install_button.isEnabled(), timeout=30, what="the inspection")
    assert "Debian" in wizard.facts_grid.itemAtPosition(0, 1).widget().text()

    wizard.email.setText("admin@example.com")
    wizard.password.setText(PASSWORD)
    wizard.repeat.setText(PASSWORD)
    wizard.advanced.setChecked(True)
    wizard.prefix.setText(str(vps / "opt"))
    wizard.state_dir.setText(str(vps / "state"))
    wizard.podman_url.setText(podman_service.url)
    wizard.resize(680, 720)
    ui.screenshot(wizard, "install-plan")

    (vps / "opt").mkdir()
    (vps / "opt" / "dist").write_text("in the way")  # the upload step cannot make its folder
    wizard.install_button.click()
    ui.wait_until(lambda: wizard.progress.failure.isVisible(), timeout=60, what="the failed step")
    assert wizard.progress.status["upload"] is StepStatus.FAILED
    assert wizard.progress.status["check"] is StepStatus.OK and wizard.progress.status["venv"] is None
    assert "Upload the agent failed" in wizard.progress.failure.message.text()
    ui.screenshot(wizard, "install-failed-retry")

    (vps / "opt" / "dist").unlink()
    wizard.progress.failure.buttons["retry"].click()
    ui.wait_until(lambda: wizard.close_button.text() == "Done", timeout=240, what="the install")
    assert all(wizard.progress.status[s] in (StepStatus.OK, StepStatus.SKIPPED, StepStatus.WARNING)
               for s in wizard.progress.status)
    assert wizard.progress.status["service"] is StepStatus.WARNING  # no systemd on the test machine
    assert PASSWORD not in wizard.progress.log.toPlainText()
    ui.screenshot(wizard, "install-done")
    wizard.close_button.click()

    conn = ui.wait_until(lambda: app.fleet.connections.get("vps"), what="the saved server")
    assert conn.profile.socket == str(vps / "state" / "agent.sock")
    ui.wait_until(lambda: conn.status.is_connected, timeout=30, what="the new server to connect with the token")
    assert app.ctx.profiles.get("vps").agent_prefix == str(vps / "opt")

    diagnostics = window.open_diagnostics("vps")
    ui.wait_until(lambda: diagnostics.checks, timeout=30, what="the diagnostics")
    statuses = {c.name: c.status for c in diagnostics.checks}
    assert statuses["ssh"] == statuses["running"] == statuses["protocol"] == statuses["podman"] == "ok"
    assert not diagnostics.upgrade_button.isVisible()
    ui.screenshot(diagnostics, "diagnostics")
    diagnostics.accept()

    upgrade = window.open_upgrade("vps")
    ui.wait_until(lambda: upgrade.upgrade_button.isEnabled(), timeout=30, what="the upgrade check")
    assert "up to date" in upgrade.hint.text() and upgrade.upgrade_button.text() == "Reinstall and restart"
    upgrade.upgrade_button.click()
    ui.wait_until(lambda: upgrade.job is not None and upgrade.upgrade_button.isEnabled(), timeout=30,
                  what="the forced upgrade plan")
    ui.screenshot(upgrade, "upgrade-offer")
    upgrade.upgrade_button.click()
    ui.wait_until(lambda: upgrade.close_button.text() == "Done", timeout=120, what="the upgrade")
    assert upgrade.progress.status["verify"] is StepStatus.OK
    ui.screenshot(upgrade, "upgrade-done")
    upgrade.close_button.click()
    ui.wait_until(lambda: conn.status.is_connected, timeout=30, what="the reconnect after the upgrade")

    # The agent now speaks an older protocol (as after restoring an old backup): the
    # desktop says so, offers the upgrade, and the upgrade brings the server back.
    (version_py,) = (vps / "opt").glob("venv/lib/python3*/site-packages/basepod_agent/protocol/version.py")
    version_py.write_text(version_py.read_text().replace(f"PROTOCOL_VERSION = {PROTOCOL_VERSION}", f"PROTOCOL_VERSION = {PROTOCOL_VERSION - 1}"))
    ui.run(_restart_in_place(conn.profile, sshd_server.known_hosts_path), timeout=60)
    conn.retry_now()
    ui.wait_until(lambda: conn.status.state is ConnState.ERROR, timeout=60, what="the protocol mismatch")
    assert "upgrade the agent" in conn.status.reason
    ui.wait_until(lambda: any(n.title == "Agent upgrade available for vps" for n in app.ctx.notifier.history),
                  what="the upgrade offer")
    window.show_server("vps")
    window.resize(1100, 640)
    ui.screenshot(window, "upgrade-offer-protocol-mismatch")
    fix = window.open_upgrade("vps")
    ui.wait_until(lambda: fix.upgrade_button.isEnabled(), timeout=30, what="the upgrade check")
    fix.upgrade_button.click()  # same version and build: offered as a reinstall
    ui.wait_until(lambda: fix.job is not None and fix.upgrade_button.isEnabled(), timeout=30, what="the plan")
    fix.upgrade_button.click()
    ui.wait_until(lambda: fix.close_button.text() == "Done", timeout=120, what="the reinstall")
    fix.close_button.click()
    ui.wait_until(lambda: conn.status.is_connected, timeout=30, what="the server back after the upgrade")
    assert f"PROTOCOL_VERSION = {PROTOCOL_VERSION}" in version_py.read_text()
    ui.wait_until(lambda: fix.setup.remote is None, what="the dialog's SSH connection to close")


async def _restart_in_place(profile, known_hosts) -> None:
    remote = await RemoteHost.connect(profile, known_hosts_path=known_hosts)
    try:
        facts = await inspect_host(remote, profile.agent_prefix)
        options = facts.manifest.options()
        await agent_service.stop(remote, facts, options, "detached", lambda _line: None)
        await agent_service.install_and_start(remote, facts, options, "detached", lambda _line: None)
    finally:
        await remote.aclose()


def test_diagnostics_explain_a_server_whose_agent_is_not_running(ui, make_app, sshd_server, tmp_path):
    profile = ssh_profile("idle", sshd_server, tmp_path / "no-agent.sock")
    app = make_app([profile], known_hosts=sshd_server.known_hosts_path)
    dialog = app.window.open_diagnostics(profile.name)
    ui.wait_until(lambda: dialog.checks, timeout=30, what="the diagnostics")
    by_name = {c.name: c for c in dialog.checks}
    assert by_name["ssh"].status == "ok" and by_name["running"].status == "fail"
    assert by_name["running"].fix and by_name["clock"].status == "ok"
    assert "problem" in dialog.hint.text()
    ui.screenshot(dialog, "diagnostics-agent-down")
    upgrade = app.window.open_upgrade(profile.name)
    ui.wait_until(lambda: "no Basepod-installed agent" in upgrade.hint.text(), timeout=30, what="the upgrade check")
    assert not upgrade.upgrade_button.isEnabled()


def test_the_wizard_explains_an_unreachable_server_and_can_inspect_again(ui, make_app, sshd_server, tmp_path):
    app = make_app([], known_hosts=sshd_server.known_hosts_path)
    good = ssh_profile("vps", sshd_server, tmp_path / "agent.sock")
    wizard = app.window.install_agent(good.model_copy(update={"key_path": str(tmp_path / "no-such-key")}))
    ui.wait_until(lambda: wizard.install_button.text() == "Inspect again", timeout=30, what="the failed inspection")
    assert "key file" in wizard.plan_hint.text() and wizard.install_button.isEnabled()
    ui.screenshot(wizard, "install-unreachable")
    wizard.setup.profile = good  # the user fixed the key (as Edit server would)
    wizard.install_button.click()
    ui.wait_until(lambda: wizard.facts is not None, timeout=30, what="the second inspection")
    assert wizard.install_button.text() == "Install" and "found this" in wizard.plan_hint.text()
    wizard.reject()
