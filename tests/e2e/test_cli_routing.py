"""``bp domains``, ``bp releases`` and ``bp rollback`` against a real agent behind Caddy."""

from __future__ import annotations

import json

import pytest
from deploy_helpers import create_app, wait_deploy
from routing_helpers import NEW, OLD, ROOT, routed_agent, variant, wait_routed
from test_cli_over_ssh import Bp

from harness.system import require_binaries


@pytest.fixture
def setup(tmp_path, agent_factory, podman_service):
    require_binaries("caddy")
    agent = routed_agent(agent_factory)
    bp = Bp(tmp_path / "home", None)
    base = ["--local", "--socket", str(agent.socket_path)]
    bp(*base, "login", "--email", agent.admin_email, "--password-stdin", input=agent.admin_password + "\n")
    return agent, lambda *args, **kw: bp(*base, *args, **kw), podman_service


def test_bp_domains_releases_and_rollback(setup):
    agent, bp, podman = setup
    token = agent.request("POST", "/api/auth/login", {"email": agent.admin_email,
                                                      "password": agent.admin_password})[1]["token"]
    create_app(agent, token, "web", variant(podman, "old", OLD))

    assert bp("domains", "web", "add", "Shop.Example.com").stdout.split() == [
        f"http://web.{ROOT}:{agent.http_port}", f"http://shop.example.com:{agent.http_port}"]
    bad = bp("domains", "web", "add", "bad_name.example.com", check=False)
    assert bad.returncode == 2 and "not a host name" in bad.stderr
    assert json.loads(bp("--json", "domains", "web", "remove", "shop.example.com").stdout)["domains"] == []

    assert "no kept versions" in bp("releases", "web").stdout
    ids = []
    for label, body in (("old", OLD), ("new", NEW)):
        created = json.loads(bp("--json", "deploy", "web", "--image", variant(podman, label, body)).stdout)
        assert wait_deploy(agent, token, "web", created["id"])["status"] == "success"
        ids.append(created["id"])
    listed = bp("releases", "web").stdout
    assert ids[0] in listed and ids[1] in listed and "live" in listed

    result = bp("rollback", "web")
    assert result.returncode == 0 and "success" in result.stderr and f"Rolling back to version {ids[0]}" in result.stdout
    wait_routed(agent.http_port, f"web.{ROOT}", OLD)
    missing = bp("rollback", "web", "--to", "20000101000000-abcdef", check=False)
    assert missing.returncode != 0 and "is not kept" in missing.stderr
