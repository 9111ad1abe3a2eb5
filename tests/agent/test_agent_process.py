"""The agent process itself: its own Podman service when none runs, clean shutdown."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

from harness.agent import AGENT_SOURCE, agent_request
from harness.system import pids_mentioning, short_tmpdir, wait_until


def test_agent_starts_and_stops_its_own_podman_service_when_none_is_configured(podman_service):
    base = short_tmpdir("bp-own-")
    state = base / "state"
    # Same isolated storage as the session's Podman, but no --podman-url: the agent must
    # find no system socket and start `podman system service` itself.
    env = {**podman_service.env, "BASEPOD_ADMIN_PASSWORD": "correct horse battery",
           "PYTHONPATH": str(AGENT_SOURCE), "XDG_RUNTIME_DIR": str(base / "xdg")}
    run = [sys.executable, "-m", "basepod_agent"]
    subprocess.run([*run, "init", "--state-dir", str(state), "--admin-email", "a@example.com"],
                   env=env, check=True, capture_output=True)
    agent = subprocess.Popen([*run, "serve", "--state-dir", str(state), "--port-range", "29900-29950"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        sock = str(state / "agent.sock")
        wait_until(lambda: os.path.exists(sock) and agent_request(sock, "GET", "/api/version")[0] == 200,
                   timeout=30, what="agent with its own podman")
        _, login = agent_request(sock, "POST", "/api/auth/login",
                                 {"email": "a@example.com", "password": "correct horse battery"})
        _, status = agent_request(sock, "GET", "/api/status", token=login["token"])
        assert status["podman_reachable"] and status["podman_version"]
        assert (state / "podman.sock").exists()
        assert pids_mentioning(str(state / "podman.sock"))
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=20)
    wait_until(lambda: not pids_mentioning(str(state / "podman.sock")) or None, timeout=15,
               what="agent's podman service to exit")
    assert not (state / "agent.sock").exists()
    shutil.rmtree(base, ignore_errors=True)


def test_serve_refuses_an_uninitialised_state_dir_with_a_hint(tmp_path):
    result = subprocess.run([sys.executable, "-m", "basepod_agent", "serve", "--state-dir", str(tmp_path / "x")],
                            env={**os.environ, "PYTHONPATH": str(AGENT_SOURCE)}, capture_output=True, text=True)
    assert result.returncode == 2 and "basepod-agent init" in result.stderr


def test_init_twice_keeps_the_existing_admin_and_key(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(AGENT_SOURCE), "BASEPOD_ADMIN_PASSWORD": "first password"}
    cmd = [sys.executable, "-m", "basepod_agent", "init", "--state-dir", str(tmp_path / "s"),
           "--admin-email", "a@example.com"]
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    key = (tmp_path / "s" / "agent.key").read_bytes()
    again = subprocess.run(cmd, env={**env, "BASEPOD_ADMIN_PASSWORD": "second password"},
                           capture_output=True, text=True)
    assert again.returncode == 0 and "already exists" in again.stdout
    assert (tmp_path / "s" / "agent.key").read_bytes() == key


def test_init_refuses_a_short_admin_password(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(AGENT_SOURCE), "BASEPOD_ADMIN_PASSWORD": "short"}
    result = subprocess.run([sys.executable, "-m", "basepod_agent", "init", "--state-dir", str(tmp_path / "s"),
                             "--admin-email", "a@example.com"], env=env, capture_output=True, text=True)
    assert result.returncode == 2 and "at least 8" in result.stderr
