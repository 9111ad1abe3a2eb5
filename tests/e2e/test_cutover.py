"""Zero-downtime cutover through a real Caddy: deploy, failed deploy, rollback, and a
crash of the agent in the middle of a cutover (issue #6)."""

from __future__ import annotations

import json
import socket

import pytest
from deploy_helpers import commit, create_app, make_repo, set_git_source, start_deploy, wait_deploy
from routing_helpers import (
    NEW, OLD, ROOT, SteadyClient, app_containers, broken_image, get, routed_agent, start_image_deploy, variant,
    wait_routed,
)

from harness.system import require_binaries, wait_until

HOST = f"web.{ROOT}"


@pytest.fixture
def images(podman_service):
    require_binaries("caddy")
    old, new = variant(podman_service, "old", OLD), variant(podman_service, "new", NEW)
    return old, new, broken_image(podman_service, old)


def login(agent) -> str:
    status, body = agent.request("POST", "/api/auth/login", {"email": agent.admin_email,
                                                             "password": agent.admin_password})
    assert status == 200, body
    return body["token"]


def deploy_image(agent, token, image: str) -> dict:
    return wait_deploy(agent, token, "web", start_image_deploy(agent, token, image))


def test_deploy_failed_deploy_and_rollback_drop_no_request_and_switch_once(agent_factory, images):
    old, new, broken = images
    agent = routed_agent(agent_factory)
    token = login(agent)
    app = create_app(agent, token, "web", old)
    assert app["url"] == f"http://{HOST}:{agent.http_port}"
    wait_routed(agent.http_port, HOST, OLD)
    first = deploy_image(agent, token, old)  # a release to roll back to later
    assert first["status"] == "success", first

    with SteadyClient(agent.http_port, HOST) as client:
        done = deploy_image(agent, token, new)
    assert done["status"] == "success", done
    assert client.failures == []
    assert client.runs() == [OLD, NEW]
    log = agent.request("GET", f"/api/apps/web/deploys/{done['id']}/log", token=token)[1]["text"]
    assert "Started the new version beside the running one" in log and "Stopped the old version" in log
    assert "Healthy (port " in log and "accepts connections); traffic switched" in log

    with SteadyClient(agent.http_port, HOST) as client:
        failed = deploy_image(agent, token, broken)
    assert failed["status"] == "failed"
    assert "did not become healthy" in failed["error"] and "previous version keeps serving" in failed["error"]
    assert client.failures == [] and client.runs() == [NEW]
    assert len(client.bodies) > 10  # the client really ran through the whole attempt

    with SteadyClient(agent.http_port, HOST) as client:
        status, created = agent.request("POST", "/api/apps/web/rollback", None, token=token)
        assert status == 202, created
        back = wait_deploy(agent, token, "web", created["id"])
    assert back["status"] == "success", back
    assert back["source_type"] == "rollback" and back["rollback_to"] == first["id"]
    assert client.failures == [] and client.runs() == [NEW, OLD]
    assert app_containers(agent) == ["basepod-web"]


def test_agent_killed_mid_cutover_finishes_it_after_restart(agent_factory, images):
    old, new, _ = images
    agent = routed_agent(agent_factory, drain=30)
    token = login(agent)
    create_app(agent, token, "web", old)
    wait_routed(agent.http_port, HOST, OLD)
    deploy_id = start_image_deploy(agent, token, new)
    wait_routed(agent.http_port, HOST, NEW)  # traffic moved; the old version is draining

    agent.kill()  # SIGKILL to the agent's process group: its Caddy dies too
    agent.start()

    wait_routed(agent.http_port, HOST, NEW)
    record = wait_deploy(agent, login(agent), "web", deploy_id)
    assert record["status"] == "success", record
    assert app_containers(agent) == ["basepod-web"]
    status, app = agent.request("GET", "/api/apps/web", token=login(agent))
    assert app["image"].startswith("localhost/basepod/web:") and app["status"] == "running"
    assert get(app["host_port"], "127.0.0.1")[1] == NEW  # the direct port follows the live version


def test_agent_killed_before_the_switch_keeps_the_old_version(agent_factory, images):
    old, _, broken = images
    agent = routed_agent(agent_factory, timeout=60)
    token = login(agent)
    create_app(agent, token, "web", old)
    wait_routed(agent.http_port, HOST, OLD)
    deploy_id = start_image_deploy(agent, token, broken)
    wait_until(lambda: agent.podman.cli("container", "exists", "basepod-web-next", check=False).returncode == 0,
               30, "the new version to start beside the old one")

    agent.kill()
    agent.start()

    wait_routed(agent.http_port, HOST, OLD)
    record = wait_deploy(agent, login(agent), "web", deploy_id)
    assert record["status"] == "interrupted"
    assert app_containers(agent) == ["basepod-web"]


def test_cutover_is_gated_by_the_apps_health_check_and_monitoring_follows_the_new_port(agent_factory, images):
    old, new, _ = images
    agent = routed_agent(agent_factory)
    token = login(agent)
    create_app(agent, token, "web", old)
    check = {"path": "/cgi-bin/health", "interval_seconds": 1, "timeout_seconds": 1, "grace_seconds": 0,
             "auto_restart": False}
    assert agent.request("PUT", "/api/apps/web/health", check, token=token)[0] == 200
    done = deploy_image(agent, token, new)
    assert done["status"] == "success", done
    finished = done["finished_at"]

    def probed_after_switch():
        report = agent.request("GET", "/api/apps/web/health", token=token)[1]
        later = [p for p in report["recent"] if p["at"] > finished]
        return len(later) >= 2 and all(p["ok"] for p in later) and report["status"] == "green"

    wait_until(probed_after_switch, 20, "health probes of the new version on its port")

    assert agent.request("PUT", "/api/apps/web/health", {**check, "path": "/no-such-page"}, token=token)[0] == 200
    failed = deploy_image(agent, token, old)
    assert failed["status"] == "failed" and "health check /no-such-page: HTTP 404" in failed["error"], failed
    assert get(agent.http_port, HOST) == (200, NEW)


def test_a_spare_port_taken_by_another_program_is_replaced(agent_factory, images):
    old, new, _ = images
    agent = routed_agent(agent_factory)
    token = login(agent)
    first_port = create_app(agent, token, "web", old)["host_port"]
    assert deploy_image(agent, token, new)["status"] == "success"
    with socket.socket() as squatter:  # the freed port, the app's next spare, is taken meanwhile
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        wait_until(lambda: squatter.bind(("0.0.0.0", first_port)) or True, 10, "the old port to be free")
        squatter.listen(1)
        done = deploy_image(agent, token, old)
        assert done["status"] == "success", done
    wait_routed(agent.http_port, HOST, OLD)
    app = agent.request("GET", "/api/apps/web", token=token)[1]
    assert app["host_port"] != first_port


def test_the_health_check_a_new_version_brings_in_basepod_gates_its_cutover(agent_factory, images, tmp_path):
    old, _, _ = images
    agent = routed_agent(agent_factory)
    token = login(agent)
    create_app(agent, token, "web", old)
    repo = make_repo(tmp_path / "repo", {
        "Dockerfile": f"FROM {old}\nRUN echo 'built version' > /www/index.html\n",
        ".basepod": '[health]\npath = "/not-here"\ninterval_seconds = 1\ntimeout_seconds = 1\n',
    })
    set_git_source(agent, token, "web", repo)
    failed = wait_deploy(agent, token, "web", start_deploy(agent, token, "web"))
    assert failed["status"] == "failed" and "health check /not-here: HTTP 404" in failed["error"], failed
    assert get(agent.http_port, HOST) == (200, OLD)

    commit(repo, {".basepod": '[health]\npath = "/cgi-bin/health"\ninterval_seconds = 1\ntimeout_seconds = 1\n'},
           "a health path that answers")
    done = wait_deploy(agent, token, "web", start_deploy(agent, token, "web"))
    assert done["status"] == "success", done
    wait_routed(agent.http_port, HOST, "built version\n")


def test_env_apply_and_limits_change_of_a_routed_app_go_through_the_cutover_without_dropping_requests(
        agent_factory, images):
    old, _, _ = images
    agent = routed_agent(agent_factory)
    token = login(agent)
    create_app(agent, token, "web", old)
    wait_routed(agent.http_port, HOST, OLD)
    first_id = agent.request("GET", "/api/apps/web", token=token)[1]["container_id"]

    status, body = agent.request("PATCH", "/api/apps/web/env", {"set": {"GREETING": "hej"}}, token=token)
    assert status == 200, body
    with SteadyClient(agent.http_port, HOST) as client:
        status, applied = agent.request("POST", "/api/apps/web/apply", token=token)
    assert status == 200, applied
    assert client.failures == [] and client.runs() == [OLD]
    assert applied["restart_needed"] is False and applied["container_id"] != first_id
    assert "GREETING=hej" in get(agent.http_port, HOST, "/cgi-bin/env")[1]

    with SteadyClient(agent.http_port, HOST) as client:
        status, limits = agent.request("PUT", "/api/apps/web/limits", {"memory": "64M"}, token=token)
    assert status == 200, limits
    assert limits["applied"] == "recreated"
    assert client.failures == [] and client.runs() == [OLD]
    inspected = json.loads(agent.podman.cli("inspect", "basepod-web").stdout)[0]
    assert inspected["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert app_containers(agent) == ["basepod-web"]
