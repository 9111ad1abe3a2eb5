"""Deploy history stays bounded per app through the agent (``deploy_history`` in agent.toml)."""

from __future__ import annotations

from deploy_helpers import create_app, wait_deploy
from harness.system import wait_until


def test_old_deploy_records_and_logs_are_dropped_once_the_app_has_more_than_the_limit(agent_factory, busybox_image):
    agent = agent_factory(start=False, extra_args=["--stop-timeout", "1"])
    agent.state_dir.mkdir(parents=True, exist_ok=True)
    (agent.state_dir / "agent.toml").write_text("deploy_history = 2\nkeep_releases = 1\n")  # no older success spared
    agent.start()
    token = agent.request("POST", "/api/auth/login", {"email": agent.admin_email,
                                                      "password": agent.admin_password})[1]["token"]
    create_app(agent, token, "hist", busybox_image)
    create_app(agent, token, "quiet", busybox_image)

    def deploy_image(app: str) -> str:
        status, body = agent.request("POST", f"/api/apps/{app}/deploy/image", {"image": busybox_image}, token=token)
        assert status == 202, body
        return body["id"]

    untouched = wait_deploy(agent, token, "quiet", deploy_image("quiet"))
    ids = []
    for _ in range(4):
        ids.append(deploy_image("hist"))
        assert wait_deploy(agent, token, "hist", ids[-1])["status"] == "success"

    def listed() -> list[str] | None:
        deploys = agent.request("GET", "/api/apps/hist/deploys", token=token)[1]["deploys"]
        return [d["id"] for d in deploys] if len(deploys) == 2 else None

    assert sorted(wait_until(listed, 10, "the history to shrink to 2")) == ids[2:]
    folders = agent.state_dir / "deploys"
    wait_until(lambda: not any((folders / i).exists() for i in ids[:2]), 10, "old log folders to go")
    assert all((folders / i / "build.log").is_file() for i in ids[2:])
    assert agent.request("GET", f"/api/apps/hist/deploys/{ids[0]}", token=token)[0] == 404
    assert agent.request("GET", f"/api/apps/quiet/deploys/{untouched['id']}", token=token)[0] == 200
