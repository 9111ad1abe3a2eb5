"""The Deploys tab's kept versions and the Domains dialog, against a real agent behind
its own Caddy: "Roll back to this" asks first, then goes through the real cutover."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from basepod_desktop.ui.deploys_model import describe_commit
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, open_app_on_local_agent
from harness.system import require_binaries

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "e2e"))
from deploy_helpers import wait_deploy  # noqa: E402
from routing_helpers import NEW, OLD, ROOT, get, routed_agent, variant  # noqa: E402


def test_kept_versions_roll_back_after_confirming_and_domains_are_edited(ui, make_app, agent_factory,
                                                                       podman_service):
    require_binaries("caddy")
    agent = routed_agent(agent_factory)
    token = agent.request("POST", "/api/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})[1]["token"]
    old, new = variant(podman_service, "old", OLD), variant(podman_service, "new", NEW)
    assert agent.request("POST", "/api/apps", {"name": "web", "image": old, "port": 8080}, token=token)[0] == 201
    ids = []
    for image in (old, new):
        created = agent.request("POST", "/api/apps/web/deploy/image", {"image": image}, token=token)[1]
        assert wait_deploy(agent, token, "web", created["id"])["status"] == "success"
        ids.append(created["id"])

    app = open_app_on_local_agent(ui, make_app, agent)
    window, detail = app.window, app.window.detail
    tab = detail.deploys_tab
    window.resize(1180, 800)
    detail.tabs.setCurrentWidget(tab)
    section = tab.releases
    ui.wait_until(lambda: section.isVisible() and ids[0] in section.panel.buttons, what="the kept versions")
    assert ids[1] not in section.panel.buttons, "the live version has no rollback button"
    ui.screenshot(window, "deploys-releases")

    section.panel.buttons[ids[0]].click()
    box = window.findChild(QMessageBox, "ConfirmBox")
    ui.wait_until(lambda: box is not None and box.isVisible(), what="the confirmation")
    ui.screenshot(box, "rollback-confirm")
    [yes] = [b for b in box.buttons() if b.text() == "Roll back"]
    yes.click()
    ui.wait_until(lambda: get(agent.http_port, f"web.{ROOT}") == (200, OLD), timeout=30, what="the old body")
    ui.wait_until(lambda: ids[1] in section.panel.buttons, timeout=30, what="the versions after the rollback")
    deploys = agent.request("GET", "/api/apps/web/deploys", token=token)[1]["deploys"]
    assert deploys[0]["source_type"] == "rollback" and deploys[0]["rollback_to"] == ids[0]
    ui.wait_until(lambda: tab.model.deploy(0) is not None and tab.model.deploy(0).id == deploys[0]["id"],
                  what="the rollback in the history")
    assert describe_commit(tab.model.deploy(0)) == f"rollback to {ids[0]}"
    assert section.panel.grid.itemAtPosition(0, 2).widget().text() == f"image {old}"  # live again

    tab.trigger("domains")
    ui.wait_until(lambda: getattr(section, "domains_dialog", None) is not None, what="the domains dialog")
    dialog = section.domains_dialog
    dialog.editor.setPlainText("bad_name.example.com")
    dialog.submit()
    assert dialog.error.isVisible() and "not a host name" in dialog.error.text()
    dialog.editor.setPlainText("shop.example.com\nwww.shop.example.com")
    ui.screenshot(dialog, "domains")
    dialog.submit()
    ui.wait_until(lambda: not dialog.isVisible(), what="the dialog to close after saving")
    ui.wait_until(lambda: get(agent.http_port, "www.shop.example.com") == (200, OLD), what="the custom domain")
    assert app.fleet.snapshot("box").app("web").url == f"http://web.{ROOT}:{agent.http_port}"
