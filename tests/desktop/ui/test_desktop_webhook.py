"""The Webhook tab against a real agent: enable, copy and reveal, live deliveries over
real HTTP to the agent's edge port, regenerate with confirmation, and the no-URL state."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

from basepod_desktop.ui import theme

from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, open_app_on_local_agent

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "e2e"))
from deploy_helpers import commit, make_repo, set_git_source, wait_deploy  # noqa: E402
from webhook_helpers import deliver, ping_payload, push_payload  # noqa: E402

PUBLIC_URL = "https://deploy.example.com"


def _open(ui, make_app, agent, image: str):
    token = agent.request("POST", "/api/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})[1]["token"]
    status, body = agent.request("POST", "/api/apps", {"name": "web", "image": image, "port": 8080}, token=token)
    assert status == 201, body
    app = open_app_on_local_agent(ui, make_app, agent)
    app.window.resize(1180, 820)
    detail = app.window.detail
    detail.tabs.setCurrentWidget(detail.webhook_tab)
    return app, detail.webhook_tab, token


def test_enable_copy_reveal_live_deliveries_and_regenerate(ui, make_app, agent_factory, busybox_image, tmp_path):
    agent = agent_factory(start=False, extra_args=["--stop-timeout", "1", "--public-url", PUBLIC_URL])
    agent.start()
    app, tab, token = _open(ui, make_app, agent, busybox_image)
    dockerfile = f"FROM {busybox_image}\nRUN echo pushed > /www/index.html\n"
    repo = make_repo(tmp_path / "repo", {"Dockerfile": dockerfile})
    set_git_source(agent, token, "web", repo)
    window = app.window
    ui.wait_until(lambda: tab.stack.currentWidget() is tab.empty, what="the empty state")
    assert tab.empty.button.text() == "Enable webhook"
    ui.screenshot(window, "webhook-off")

    tab.branch_edit.setText("main")
    tab.empty.button.click()
    ui.wait_until(lambda: tab.stack.currentWidget() is tab.content, what="the enabled webhook")
    url = f"{PUBLIC_URL}/api/apps/web/webhook"
    assert tab.url_field.text() == url and not tab.callout.isVisible()
    secret = agent.request("GET", "/api/apps/web/webhook/secret", token=token)[1]["secret"]
    assert tab.secret_field.text() == secret, "a fresh secret is shown once after enabling"
    assert tab.table_stack.currentWidget() is tab.no_deliveries
    tab.reveal_button.click()  # hide it again
    assert secret not in tab.secret_field.text()
    ui.screenshot(window, "webhook-enabled")

    tab.copy_url.click()
    assert QGuiApplication.clipboard().text() == url and tab.copy_url.text().startswith("Copied")
    tab.secret = None  # as after reopening the page: the secret must come from the agent
    tab.copy_secret.click()
    ui.wait_until(lambda: QGuiApplication.clipboard().text() == secret, what="the secret on the clipboard")
    tab.reveal_button.click()
    ui.wait_until(lambda: tab.secret_field.text() == secret, what="the revealed secret")
    tab.reveal_button.click()

    assert deliver(agent.edge_url, "web", secret, "ping", ping_payload()).status_code == 200
    assert deliver(agent.edge_url, "web", secret, "push", push_payload("c" * 40, branch="dev")).status_code == 200
    assert deliver(agent.edge_url, "web", "forged", "push", push_payload("d" * 40)).status_code == 401
    sha = commit(repo, {"Dockerfile": dockerfile.replace("pushed", "pushed v2")}, "v2")
    pushed = deliver(agent.edge_url, "web", secret, "push", push_payload(sha))
    assert pushed.json()["result"] == "deployed", pushed.text
    ui.wait_until(lambda: tab.table.rowCount() == 4, what="four deliveries pushed live")
    cells = [[tab.table.item(r, c).text() for c in range(tab.table.columnCount())] for r in range(4)]
    assert [row[5] for row in cells] == ["deployed", "rejected", "ignored", "pong"]
    assert cells[0][3] == sha[:10] and cells[0][6] == pushed.json()["deploy_id"]
    assert cells[1][4] == "invalid" and cells[2][2] == "dev" and cells[2][3] == "c" * 10
    assert wait_deploy(agent, token, "web", pushed.json()["deploy_id"])["status"] == "success"
    ui.screenshot(window, "webhook-deliveries")

    tab.regenerate_button.click()
    box = ui.wait_until(lambda: window.findChild(QMessageBox, "ConfirmBox"), what="the confirmation")
    ui.screenshot(box, "webhook-regenerate-confirm")
    next(b for b in box.buttons() if b.text() == "Regenerate").click()
    ui.wait_until(lambda: tab.secret not in (None, secret), what="the new secret")
    assert deliver(agent.edge_url, "web", secret, "ping", ping_payload()).status_code == 401
    assert deliver(agent.edge_url, "web", tab.secret, "ping", ping_payload()).status_code == 200


def test_without_a_public_url_the_tab_says_how_to_set_one(ui, qapp, make_app, agent, busybox_image):
    app, tab, _ = _open(ui, make_app, agent, busybox_image)
    ui.wait_until(lambda: tab.stack.currentWidget() is tab.empty, what="the empty state")
    tab.empty.button.click()
    ui.wait_until(lambda: tab.stack.currentWidget() is tab.content, what="the enabled webhook")
    assert tab.callout.isVisible() and "public_url" in tab.callout.message.text()
    assert not tab.copy_url.isEnabled() and tab.url_field.text() == ""
    ui.screenshot(app.window, "webhook-no-public-url")
    theme.apply(qapp, dark=True)
    try:
        ui.screenshot(app.window, "webhook-no-public-url-dark")
    finally:
        theme.apply(qapp, dark=False)
