"""End-to-end fixtures: a real agent process on the session's isolated Podman."""

from __future__ import annotations

import pytest

FAST_STOP = ["--stop-timeout", "1"]  # busybox httpd ignores SIGTERM


@pytest.fixture
def agent(agent_factory):
    return agent_factory(extra_args=FAST_STOP)


@pytest.fixture
def token(agent):
    status, body = agent.request("POST", "/api/auth/login",
                                 {"email": agent.admin_email, "password": agent.admin_password})
    assert status == 200, body
    return body["token"]
