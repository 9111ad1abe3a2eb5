"""Routing through Caddy: custom domains, their validation, routes surviving restarts of
Caddy and the agent, and image retention with rollback to the oldest kept version."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import urllib.request

import pytest
from deploy_helpers import create_app, wait_deploy
from routing_helpers import NEW, OLD, ROOT, get, routed_agent, variant, wait_routed

from harness.system import free_port, require_binaries, wait_until


@pytest.fixture
def routed(agent_factory, podman_service):
    require_binaries("caddy")
    agent = routed_agent(agent_factory)
    status, body = agent.request("POST", "/api/auth/login", {"email": agent.admin_email,
                                                             "password": agent.admin_password})
    assert status == 200, body
    agent.token = body["token"]
    agent.old_image = variant(podman_service, "old", OLD)
    return agent


def put_domains(agent, app: str, domains: list[str]):
    return agent.request("PUT", f"/api/apps/{app}/domains", {"domains": domains}, token=agent.token)


def test_custom_domains_are_served_and_bad_or_taken_ones_refused(routed, podman_service):
    create_app(routed, routed.token, "web", routed.old_image)
    create_app(routed, routed.token, "api", routed.old_image)
    status, body = put_domains(routed, "web", ["Shop.Example.com.", "www.shop.example.com"])
    assert status == 200, body
    assert body["domains"] == ["shop.example.com", "www.shop.example.com"]
    assert body["urls"][0] == f"http://web.{ROOT}:{routed.http_port}"
    wait_routed(routed.http_port, "www.shop.example.com", OLD)

    for bad in ("under_score.example.com", "-lead.example.com", "nodot", "a..b.com", "1.2.3.4"):
        status, error = put_domains(routed, "api", [bad])
        assert status == 422 and error["field"] == "domains", (bad, error)
    status, error = put_domains(routed, "api", ["shop.example.com"])
    assert status == 409 and "already used by app 'web'" in error["message"]
    status, error = put_domains(routed, "api", [f"web.{ROOT}"])
    assert status == 409 and "default address" in error["message"]

    assert put_domains(routed, "api", [f"late.{ROOT}"])[0] == 200  # "api" sorts before "late": routed first
    create_app(routed, routed.token, "late", variant(podman_service, "new", NEW))
    wait_routed(routed.http_port, f"late.{ROOT}", NEW)  # an app's default address beats a custom domain

    status, body = put_domains(routed, "web", [])
    assert status == 200 and body["domains"] == []
    assert get(routed.http_port, "www.shop.example.com") == (404, "No Basepod app is served at this address.\n")


def test_routes_come_back_after_caddy_and_the_agent_restart(routed):
    create_app(routed, routed.token, "web", routed.old_image)
    host = f"web.{ROOT}"
    wait_routed(routed.http_port, host, OLD)

    pid_file = routed.state_dir / "caddy" / "caddy.pid"
    os.kill(int(pid_file.read_text()), signal.SIGKILL)  # the agent's own Caddy, started for this test
    wait_routed(routed.http_port, host, OLD)
    assert int(pid_file.read_text()) != 0

    routed.restart()
    wait_routed(routed.http_port, host, OLD)


def test_seven_deploys_keep_five_releases_and_the_oldest_kept_rolls_back(routed, podman_service):
    create_app(routed, routed.token, "web", routed.old_image)
    bodies = [f"release {n}\n" for n in range(7)]
    ids = []
    for n, body in enumerate(bodies):
        image = variant(podman_service, f"rel{n}", body)
        status, created = routed.request("POST", "/api/apps/web/deploy/image", {"image": image},
                                         token=routed.token)
        assert status == 202, created
        assert wait_deploy(routed, routed.token, "web", created["id"])["status"] == "success"
        ids.append(created["id"])
    wait_routed(routed.http_port, f"web.{ROOT}", bodies[-1])

    tags = [t for t in podman_service.cli("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
            if t.startswith("localhost/basepod/web:")]
    assert sorted(tags) == sorted(f"localhost/basepod/web:{i}" for i in ids[2:])
    status, listed = routed.request("GET", "/api/apps/web/releases", token=routed.token)
    assert status == 200
    assert [r["version"] for r in listed["releases"]] == list(reversed(ids[2:]))
    assert [r["live"] for r in listed["releases"]] == [True, False, False, False, False]

    status, error = routed.request("POST", "/api/apps/web/rollback", {"version": ids[0]}, token=routed.token)
    assert status == 404 and error["field"] == "version"
    status, created = routed.request("POST", "/api/apps/web/rollback", {"version": ids[2]}, token=routed.token)
    assert status == 202, created
    assert wait_deploy(routed, routed.token, "web", created["id"])["status"] == "success"
    wait_routed(routed.http_port, f"web.{ROOT}", bodies[2])
    status, listed = routed.request("GET", "/api/apps/web/releases", token=routed.token)
    assert listed["releases"][0]["version"] == ids[2] and listed["releases"][0]["live"]


def _https_get(port: int, host: str) -> tuple[int, str]:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # Caddy's own CA, not trusted here
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            tls.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode()


def test_tls_internal_serves_https_and_redirects_http(agent_factory, podman_service):
    require_binaries("caddy")
    https_port = free_port()
    agent = routed_agent(agent_factory, extra=("--tls", "internal", "--https-port", str(https_port)))
    token = agent.request("POST", "/api/auth/login", {"email": agent.admin_email,
                                                      "password": agent.admin_password})[1]["token"]
    app = create_app(agent, token, "web", variant(podman_service, "old", OLD))
    assert app["url"] == f"https://web.{ROOT}:{https_port}"
    wait_until(lambda: _https_get(https_port, f"web.{ROOT}") == (200, OLD), 30, "the app over HTTPS")
    status, _ = get(agent.http_port, f"web.{ROOT}")
    assert status == 308


def test_a_deleted_app_is_no_longer_routed(routed):
    create_app(routed, routed.token, "web", routed.old_image)
    wait_routed(routed.http_port, f"web.{ROOT}", OLD)
    assert routed.request("DELETE", "/api/apps/web", token=routed.token)[0] == 204
    wait_until(lambda: get(routed.http_port, f"web.{ROOT}")[0] == 404, 10, "the route to go")


def test_pruning_spares_the_version_a_queued_rollback_goes_to(routed, podman_service):
    create_app(routed, routed.token, "web", routed.old_image)
    bodies = [f"release {n}\n" for n in range(6)]
    ids = []
    for n, body in enumerate(bodies[:5]):
        created = routed.request("POST", "/api/apps/web/deploy/image",
                                 {"image": variant(podman_service, f"rel{n}", body)}, token=routed.token)[1]
        assert wait_deploy(routed, routed.token, "web", created["id"])["status"] == "success"
        ids.append(created["id"])
    running = routed.request("POST", "/api/apps/web/deploy/image",
                             {"image": variant(podman_service, "rel5", bodies[5])}, token=routed.token)[1]
    status, queued = routed.request("POST", "/api/apps/web/rollback", {"version": ids[0]}, token=routed.token)
    assert status == 202, queued  # ids[0] is still among the kept five when asked for

    assert wait_deploy(routed, routed.token, "web", running["id"])["status"] == "success"
    assert wait_deploy(routed, routed.token, "web", queued["id"])["status"] == "success"
    wait_routed(routed.http_port, f"web.{ROOT}", bodies[0])


class OwnCaddy:
    """A Caddy this test starts itself (admin on TCP), with a site of its own."""

    def __init__(self, base, http_port: int) -> None:
        self.base, self.admin_port, self.http_port = base, free_port(), http_port
        self.proc = None

    def start(self) -> "OwnCaddy":
        config = {"admin": {"listen": f"127.0.0.1:{self.admin_port}"}, "apps": {"http": {"servers": {"other": {
            "listen": [f":{free_port()}"], "routes": [{"handle": [{"handler": "static_response", "body": "x"}]}]}}}}}
        path = self.base / "caddy.json"
        path.write_text(json.dumps(config))
        env = {"HOME": str(self.base), "XDG_DATA_HOME": str(self.base / "d"), "XDG_CONFIG_HOME": str(self.base / "c"),
               "PATH": "/usr/bin:/bin"}
        self.proc = subprocess.Popen(["caddy", "run", "--config", str(path)], env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_until(lambda: _admin_config(self.admin_port) is not None, 15, "the test's Caddy")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)


def _admin_config(port: int):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/config/", timeout=3) as resp:
        return json.loads(resp.read())


def test_a_configured_caddy_gets_the_routes_again_after_it_restarts(agent_factory, podman_service, tmp_path):
    require_binaries("caddy")
    http_port = free_port()
    caddy = OwnCaddy(tmp_path, http_port).start()
    try:
        agent = agent_factory(extra_args=["--stop-timeout", "1", "--http-port", str(http_port), "--root-domain",
                                          ROOT, "--tls", "off", "--caddy-admin", f"127.0.0.1:{caddy.admin_port}"])
        token = agent.request("POST", "/api/auth/login", {"email": agent.admin_email,
                                                          "password": agent.admin_password})[1]["token"]
        create_app(agent, token, "web", variant(podman_service, "old", OLD))
        wait_routed(http_port, f"web.{ROOT}", OLD)
        assert "other" in _admin_config(caddy.admin_port)["apps"]["http"]["servers"], "its own site stays"
        assert not (agent.state_dir / "caddy" / "caddy.pid").exists(), "the agent started no Caddy of its own"

        caddy.stop()
        caddy.start()  # back with only its own config
        wait_routed(http_port, f"web.{ROOT}", OLD)
    finally:
        caddy.stop()
