"""Host key trust in the UI: first contact asks with the real fingerprint; a changed key is refused."""

from __future__ import annotations

import subprocess

from basepod_desktop.core.connection import ConnState
from basepod_desktop.ui.dialogs.host_key import HostKeyDialog
from basepod_desktop.ui.dialogs.login import LoginDialog

from conftest import ssh_profile


def _fingerprint(pub_path) -> str:
    out = subprocess.run(["ssh-keygen", "-lf", str(pub_path)], check=True, capture_output=True, text=True)
    return out.stdout.split()[1]


def test_unknown_host_shows_fingerprint_and_trusting_it_proceeds_to_login(
        ui, make_app, agent_factory, sshd_server, tmp_path):
    agent = agent_factory()
    known_hosts = tmp_path / "known_hosts"  # empty: first contact
    app = make_app([ssh_profile("fresh", sshd_server, agent.socket_path)], known_hosts=known_hosts)
    window = app.window
    window.sidebar.select("fresh")
    dialog = ui.wait_until(lambda: isinstance(window.prompts.get("fresh"), HostKeyDialog) and window.prompts["fresh"],
                           what="the host key dialog")
    expected = _fingerprint(f"{sshd_server.host_key}.pub")
    assert expected in dialog.fingerprint.text()
    assert "Verify host key" in window.dashboard.banner.message.text()
    ui.screenshot(dialog, "dialog-host-key")
    dialog.trust_button.click()
    ui.wait_until(lambda: isinstance(window.prompts.get("fresh"), LoginDialog), what="the login prompt")
    assert app.fleet.connection("fresh").status.state is ConnState.NEEDS_LOGIN
    assert f"[127.0.0.1]:{sshd_server.port}" in known_hosts.read_text()


def test_changed_host_key_is_refused_with_an_explanation(ui, make_app, agent_factory, own_sshd):
    agent = agent_factory()
    own_sshd.restart_with_new_host_key()  # its known_hosts still has the old key
    app = make_app([ssh_profile("moved", own_sshd, agent.socket_path)], known_hosts=own_sshd.known_hosts_path)
    window = app.window
    window.sidebar.select("moved")
    conn = app.fleet.connection("moved")
    ui.wait_until(lambda: conn.status.state is ConnState.ERROR, what="the refusal")
    assert "has changed" in conn.status.reason and "ssh-keygen -R" in conn.status.reason
    assert "has changed" in window.dashboard.banner.message.text()
    assert window.prompts.get("moved") is None  # nothing to click through
    assert conn.status.state is ConnState.ERROR  # and no automatic retry hammering it
    ui.screenshot(window, "dashboard-host-key-changed")
