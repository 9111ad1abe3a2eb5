"""Authentication is enforced by the agent: tokens are hashed, persistent, expiring, revocable."""

from __future__ import annotations

import os
import sqlite3
import stat
import time

from basepod_agent.protocol.version import AGENT_VERSION, PROTOCOL_VERSION
from harness.agent import agent_request


def login(agent, password=None, email=None):
    return agent.request("POST", "/api/auth/login", {
        "email": email or agent.admin_email, "password": password or agent.admin_password})


def test_version_is_public_and_names_the_protocol(agent):
    status, body = agent.request("GET", "/api/version")
    assert status == 200 and body["protocol_version"] == PROTOCOL_VERSION and body["agent_version"] == AGENT_VERSION


def test_every_other_control_route_requires_a_token(agent):
    for method, path in [("GET", "/api/apps"), ("GET", "/api/status"), ("GET", "/api/apps/x"),
                         ("POST", "/api/apps/x/start"), ("DELETE", "/api/apps/x"),
                         ("GET", "/api/auth/me"), ("POST", "/api/auth/logout")]:
        status, body = agent.request(method, path)
        assert status == 401 and body["code"] == "unauthenticated", (method, path, body)
    status, body = agent.request("GET", "/api/apps", token="bpt_made-up")
    assert status == 401 and body["code"] == "unauthenticated"


def test_wrong_password_and_unknown_user_get_the_same_answer(agent):
    wrong = login(agent, password="not the password")
    unknown = login(agent, email="nobody@example.com")
    assert wrong == unknown == (401, {"code": "bad_credentials", "message": "wrong email or password",
                                      "field": None})


def test_repeated_failures_are_throttled(agent):
    for _ in range(5):
        assert login(agent, password="guess-guess")[0] == 401
    status, body = login(agent, password="guess-guess")
    assert status == 429 and body["code"] == "too_many_attempts"


def test_token_survives_an_agent_restart_and_is_stored_only_hashed(agent, token):
    agent.restart()
    status, body = agent.request("GET", "/api/auth/me", token=token)
    assert status == 200 and body["user"]["email"] == agent.admin_email
    rows = sqlite3.connect(agent.state_dir / "agent.db").execute("SELECT token_hash FROM tokens").fetchall()
    assert rows and all(token not in r[0] for r in rows)
    assert token.encode() not in (agent.state_dir / "agent.db").read_bytes()


def test_logout_revokes_the_token(agent, token):
    assert agent.request("POST", "/api/auth/logout", token=token)[0] == 204
    status, body = agent.request("GET", "/api/apps", token=token)
    assert status == 401 and "revoked" in body["message"]


def test_expired_token_is_refused_with_its_own_code(agent_factory):
    agent = agent_factory(start=False)
    agent.state_dir.mkdir(parents=True)
    (agent.state_dir / "agent.toml").write_text("token_ttl_hours = 0.0003\n")  # about 1 s
    agent.start()
    _, body = login(agent)
    time.sleep(1.5)
    status, body = agent.request("GET", "/api/apps", token=body["token"])
    assert status == 401 and body["code"] == "token_expired"


def test_state_is_private_to_the_agent_user(agent):
    assert stat.S_IMODE(os.stat(agent.state_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(agent.state_dir / "agent.key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(agent.state_dir / "agent.db").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(agent.socket_path).st_mode) == 0o600


def test_edge_api_serves_health_and_nothing_of_the_control_api(agent, token):
    import urllib.error
    import urllib.request

    with urllib.request.urlopen(f"{agent.edge_url}/health") as resp:
        assert resp.status == 200
    for path in ("/api/apps", "/api/version", "/api/auth/login"):
        try:
            urllib.request.urlopen(f"{agent.edge_url}{path}")
            raise AssertionError(f"{path} reachable on the edge")
        except urllib.error.HTTPError as exc:
            assert exc.code in (404, 405)


def test_agent_request_helper_reports_json_errors(agent):
    status, body = agent_request(str(agent.socket_path), "GET", "/api/nope")
    assert status == 404 and body["code"] == "not_found"
