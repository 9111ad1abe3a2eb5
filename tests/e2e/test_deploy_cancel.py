"""Cancelling a deploy whose build is in a long RUN step, through the agent."""

from __future__ import annotations

import uuid
from pathlib import Path

from deploy_helpers import create_app, deploy_log, make_repo, set_git_source, start_deploy, wait_body, wait_deploy
from harness.system import wait_until


def _running(command: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "cmdline").read_bytes().replace(b"\0", b" ").strip() == command.encode():
                found.append(int(proc.name))
        except OSError:
            pass
    return found


def test_cancel_cuts_a_long_run_step_short_and_tags_no_image(agent, token, busybox_image, podman_service, tmp_path):
    app = create_app(agent, token, "slowbuild", busybox_image)
    sleep = f"sleep 9{uuid.uuid4().int % 100:02d}"  # a quarter of an hour, unique to this test
    repo = make_repo(tmp_path / "repo", {"Dockerfile": (
        f"FROM {busybox_image}\nRUN echo step-started && {sleep}\nRUN echo never > /www/index.html\n")})
    set_git_source(agent, token, "slowbuild", repo)
    deploy_id = start_deploy(agent, token, "slowbuild")
    wait_until(lambda: "step-started" in deploy_log(agent, token, "slowbuild", deploy_id) and _running(sleep),
               60, "the long RUN step to start")

    status, body = agent.request("POST", f"/api/apps/slowbuild/deploys/{deploy_id}/cancel", token=token)
    assert status == 200, body
    done = wait_deploy(agent, token, "slowbuild", deploy_id, timeout=60)
    assert done["status"] == "cancelled" and done["error"] == f"cancelled by {agent.admin_email}"
    assert not _running(sleep), "the RUN step was killed, not left to finish"
    wait_until(lambda: "working-container" not in podman_service.cli("ps", "-a", "--external").stdout, 30,
               "Podman to drop the build's working container")
    assert podman_service.cli("image", "exists", f"localhost/basepod/slowbuild:{deploy_id}",
                              check=False).returncode != 0
    wait_body(app["host_port"], "hello from basepod test\n")  # the old version still serves
