"""First start with no servers: "This computer" runs its own agent, no login, and guides to Add server."""

from __future__ import annotations

import json

from basepod_desktop.core.local_agent import CREDENTIAL_KEY, LocalAgent


def test_first_start_runs_this_computer_without_login_and_offers_add_server(
        ui, make_app, podman_service, tmp_path, monkeypatch):
    app = make_app([], start=False)
    local = LocalAgent(app.tokens, state_dir=tmp_path / "local-agent",
                       serve_args=("--podman-url", podman_service.url, "--port-range", "29000-29099"))
    app.local_agent = local
    app.start()
    window = app.window
    name = local.profile.name
    assert window.sidebar.rows[name].title.text() == "This computer"
    assert window.dashboard.server == name and window.stack.currentWidget() is window.dashboard
    conn = app.fleet.connection(name)
    ui.wait_until(lambda: conn.status.is_connected, timeout=60, what="the local agent")
    assert not window.prompts, "no login or host key prompt for this computer"
    credential = json.loads(app.tokens.get(CREDENTIAL_KEY))
    assert credential["email"].endswith("@localhost") and len(credential["password"]) >= 24
    assert app.tokens.get(name), "the session token is kept too"
    ui.wait_until(lambda: window.dashboard.stack.currentWidget() is window.dashboard.empty, what="empty state")
    ui.screenshot(window, "this-computer")
    window.show_overview()
    assert window.fleet_page.cta.parent() is not None, "no remote server yet: the Add server card shows"
    ui.screenshot(window, "fleet-first-start")
    ui.run(app.aclose())
    assert local._process is None and not local.socket_path.exists()
