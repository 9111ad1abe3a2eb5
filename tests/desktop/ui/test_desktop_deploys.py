"""The Deploys tab against a real agent (local Unix socket) and real Podman builds.

From an empty tab: set a git source (a local ``file://`` repository) in the dialog, press
Deploy, watch the build log arrive live and the history row turn success, and the app
serve the new body. A broken Dockerfile fails with the build error in the log, a
callout and a notification. A repository without a Dockerfile is built from the detected
stack and its generated Dockerfile can be viewed; a slow build can be cancelled.
"""

from __future__ import annotations

import subprocess
import urllib.request
from pathlib import Path

import pytest

from basepod_agent.protocol import DeployStatus

from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, open_app_on_local_agent

FAST_STOP = ["--stop-timeout", "1"]


def _git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com", "GIT_COMMITTER_NAME": "Ada",
           "GIT_COMMITTER_EMAIL": "ada@example.com", "HOME": str(repo), "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def _commit(repo: Path, message: str, files: dict[str, str], remove: tuple[str, ...] = ()) -> str:
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        _git(repo, "init", "-q", "-b", "main")
    for name in remove:
        (repo / name).unlink()
    for name, text in files.items():
        (repo / name).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


def _body(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=3) as resp:
            return resp.read().decode()
    except OSError:
        return None


@pytest.fixture
def deploy_agent(agent_factory, busybox_image):
    """Stack detection's static base image points at the local busybox (no registry)."""
    agent = agent_factory(start=False, extra_args=FAST_STOP)
    agent.state_dir.mkdir(parents=True, exist_ok=True)
    (agent.state_dir / "agent.toml").write_text(f'[base_images]\nstatic = "{busybox_image}"\n')
    return agent.start()


def _open(ui, make_app, agent, image: str):
    token = agent.request("POST", "/api/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})[1]["token"]
    status, body = agent.request("POST", "/api/apps", {"name": "web", "image": image, "port": 8080}, token=token)
    assert status == 201, body
    return open_app_on_local_agent(ui, make_app, agent)


def _titles(app) -> list[str]:
    return [n.title for n in app.ctx.notifier.history]


def test_source_deploy_live_log_history_failure_dockerfile_and_cancel(
        ui, make_app, deploy_agent, busybox_image, tmp_path):
    app = _open(ui, make_app, deploy_agent, busybox_image)
    window, detail = app.window, app.window.detail
    tab = detail.deploys_tab
    window.resize(1180, 780)
    detail.tabs.setCurrentWidget(tab)
    assert detail.tabs.indexOf(tab) == 4, "Deploys comes after the existing tabs"
    ui.wait_until(lambda: tab.loaded, what="the deploys to load")
    assert tab.stack.currentWidget() is tab.empty and "set a source and press Deploy" in tab.empty.text.text()
    assert not tab.buttons["deploy"].isEnabled(), "nothing to deploy without a source"
    ui.screenshot(window, "app-deploys-empty")

    # The source dialog: a bad URL is named under its field, nothing is sent.
    repo = tmp_path / "repo"
    _commit(repo, "ship v1", {"Dockerfile": f"FROM {busybox_image}\nRUN echo building && sleep 2\n"
                                            "RUN echo 'version one' > /www/index.html\n"})
    dialog = tab.edit_source()
    dialog.url.setText("ext::sh -c evil")
    dialog.submit()
    assert dialog.errors["url"].isVisible() and dialog.isVisible()
    ui.screenshot(dialog, "dialog-deploy-source-error")
    dialog.url.setText(f"file://{repo}")
    dialog.branch.setText("main")
    ui.screenshot(dialog, "dialog-deploy-source")
    dialog.save_button.click()
    ui.wait_until(lambda: not dialog.isVisible(), what="the source to be saved")
    assert tab.buttons["deploy"].isEnabled() and str(repo) in tab.source_label.text()
    assert "Ready for a first deploy" == tab.empty.title.text()

    # Deploy: the log is followed live, then the row turns success and the app serves v1.
    tab.buttons["deploy"].click()
    ui.wait_until(lambda: tab.viewer.is_live() and tab.viewer.lines(), timeout=30, what="the live build log")
    assert tab.model.deploy(0).status in (DeployStatus.QUEUED, DeployStatus.BUILDING, DeployStatus.DEPLOYING)
    assert tab.viewer.toolbar.isVisible()
    ui.screenshot(window, "app-deploys-live")
    ui.wait_until(lambda: tab.model.deploy(0).status is DeployStatus.SUCCESS, timeout=90, what="success")
    first = tab.model.deploy(0)
    assert first.commit_message == "ship v1" and first.triggered_by == ADMIN_EMAIL
    ui.wait_until(lambda: not tab.viewer.is_live(), what="the log stream to end")
    text = "\n".join(line.text for line in tab.viewer.lines())
    assert "building" in text, text
    ui.wait_until(lambda: "web deployed" in _titles(app), what="the success notification")
    port = app.fleet.snapshot("box").app("web").host_port
    ui.wait_until(lambda: _body(port) == "version one\n", timeout=20, what="version one served")
    ui.screenshot(window, "app-deploys-success")

    # A broken Dockerfile: failed, the build error in the log, a callout and a notification.
    _commit(repo, "break the build", {"Dockerfile": f"FROM {busybox_image}\nRUN cat /no/such/file\n"})
    tab.trigger("deploy")
    ui.wait_until(lambda: len(tab.model.deploys) == 2 and tab.model.deploy(0).status is DeployStatus.FAILED,
                  timeout=90, what="the failed deploy")
    assert tab.selected_id == tab.model.deploy(0).id, "the newest deploy takes over the log"
    ui.wait_until(lambda: "/no/such/file" in "\n".join(line.text for line in tab.viewer.lines()),
                  what="the build error in the log")
    ui.wait_until(lambda: "Deploy of web failed" in _titles(app), what="the failure notification")
    assert tab.callout.isVisible() and "failed" in tab.callout.message.text()
    assert _body(port) == "version one\n", "a failed build leaves the running version alone"
    tab.viewer.search("no/such")
    ui.screenshot(window, "app-deploys-failed")

    # Picking an older row shows its log; the newest deploy stays where it is.
    tab.table.selectRow(1)
    ui.wait_until(lambda: tab.log_for == first.id and "building" in
                  "\n".join(line.text for line in tab.viewer.lines()), what="the older log")

    # No Dockerfile: the static stack is detected, its generated Dockerfile is viewable.
    _commit(repo, "static site", {"index.html": "static v2\n"}, remove=("Dockerfile",))
    tab.trigger("deploy")
    ui.wait_until(lambda: len(tab.model.deploys) == 3 and tab.model.deploy(0).status.finished, timeout=90,
                  what="the buildpack deploy")
    assert tab.model.deploy(0).status is DeployStatus.SUCCESS, tab.model.deploy(0).error
    tab.table.selectRow(0)
    ui.wait_until(lambda: tab.buttons["dockerfile"].isVisible(), what="the Dockerfile button")
    tab.trigger("dockerfile")
    ui.wait_until(lambda: getattr(tab, "dockerfile_dialog", None) is not None and tab.dockerfile_dialog.isVisible(),
                  what="the Dockerfile dialog")
    assert "FROM " in tab.dockerfile_dialog.text.toPlainText()
    ui.screenshot(tab.dockerfile_dialog, "dialog-deploy-dockerfile")
    tab.dockerfile_dialog.reject()
    ui.wait_until(lambda: _body(port) == "static v2\n", timeout=20, what="the static site served")

    # A slow build is cancelled from the tab.
    _commit(repo, "slow one", {"Dockerfile": f"FROM {busybox_image}\nRUN echo waiting && sleep 60\n"})
    tab.trigger("deploy")
    ui.wait_until(lambda: len(tab.model.deploys) == 4 and tab.buttons["cancel"].isEnabled()
                  and "waiting" in "\n".join(line.text for line in tab.viewer.lines()), timeout=60,
                  what="the slow build to run")
    tab.trigger("cancel")
    ui.wait_until(lambda: tab.model.deploy(0).status is DeployStatus.CANCELLED, timeout=60, what="cancelled")
    ui.wait_until(lambda: not tab.buttons["cancel"].isVisible(), what="the cancel button to go")
    ui.wait_until(lambda: "Deploy of web cancelled" in _titles(app), what="the cancel notification")
    for banner in window.notifications.banners:
        banner.dismiss()
    ui.screenshot(window, "app-deploys-history")
    assert _body(port) == "static v2\n"
