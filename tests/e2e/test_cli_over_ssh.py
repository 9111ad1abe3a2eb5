"""``bp`` end to end: a real OpenSSH tunnel to a real agent running real containers."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from harness import SshServer
from harness.system import short_tmpdir, wait_until

PASSWORD_ENV = "correct horse battery"


class Bp:
    """Runs the real ``bp`` entry point with its own config dir and no ~/.ssh."""

    def __init__(self, home: Path, known_hosts: Path | None) -> None:
        self.home = home
        self.known_hosts = known_hosts
        self.env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
        self.env.update(HOME=str(home), BASEPOD_CONFIG_DIR=str(home / "cfg"), BASEPOD_KEYRING="0")

    def args(self, *args: str) -> list[str]:
        extra = ["--known-hosts", str(self.known_hosts)] if self.known_hosts else []
        return [sys.executable, "-m", "basepod_desktop.cli.main", *extra, *args]

    def __call__(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(self.args(*args), env=self.env, input=input, capture_output=True,
                                text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"bp {' '.join(args)} -> {result.returncode}\n{result.stderr}")
        return result


def add_server(bp: Bp, sshd: SshServer, agent) -> None:
    bp("server", "add", "srv", "--host", sshd.host, "--port", str(sshd.port), "--user", sshd.user,
       "--key", str(sshd.client_key), "--socket", str(agent.socket_path))


@pytest.fixture
def cli(tmp_path, sshd_server, agent):
    bp = Bp(tmp_path, sshd_server.known_hosts_path)
    add_server(bp, sshd_server, agent)
    bp("login", "--email", agent.admin_email, "--password-stdin", input=agent.admin_password + "\n")
    return bp


def test_full_app_lifecycle_through_the_ssh_tunnel(cli, busybox_image):
    created = json.loads(cli("--json", "create", "web", "--image", busybox_image, "--port", "8080",
                             "-e", "GREETING=hello").stdout)
    assert created["status"] == "running"
    body = wait_until(lambda: _get(f"http://127.0.0.1:{created['host_port']}/"), 10, "app over HTTP")
    assert body == "hello from basepod test\n"
    env_page = _get(f"http://127.0.0.1:{created['host_port']}/cgi-bin/env")
    assert "GREETING=hello" in env_page

    table = cli("apps").stdout
    assert "web" in table and "running" in table and f"8080->{created['host_port']}" in table
    status = cli("status").stdout
    assert "1 running of 1" in status and "Podman" in status

    assert "stopped" in cli("stop", "web").stdout
    assert json.loads(cli("--json", "apps").stdout)[0]["status"] == "stopped"
    assert "running" in cli("start", "web").stdout
    assert "restarted" in cli("restart", "web").stdout
    cli("delete", "web", "--yes")
    assert "no apps yet" in cli("apps").stdout


def test_logs_print_the_tail_and_follow_streams_new_lines(cli, busybox_image):
    cli("create", "ticker", "--image", busybox_image, "--port", "8080", "--command",
        "/bin/sh -c 'echo first; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done'")
    wait_until(lambda: "first" in cli("logs", "ticker", "-n", "100").stdout, 10, "first log line")
    proc = subprocess.Popen(cli.args("logs", "ticker", "-f", "-n", "1"), env=cli.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = [proc.stdout.readline() for _ in range(4)]
    finally:
        proc.kill()
        proc.wait()
    numbers = [int(line.split()[1]) for line in seen]
    assert all(line.startswith("tick ") for line in seen)
    assert numbers == sorted(numbers) and numbers[-1] > numbers[0]


def test_exit_codes_and_messages_a_script_can_rely_on(cli, busybox_image):
    missing = cli("start", "nope", check=False)
    assert missing.returncode == 5 and "app 'nope' not found" in missing.stderr
    bad = cli("create", "Bad_Name", "--image", busybox_image, "--port", "8080", check=False)
    assert bad.returncode == 2 and "DNS label" in bad.stderr and "Traceback" not in bad.stderr
    cli("create", "dup", "--image", busybox_image, "--port", "8080")
    dup = cli("create", "dup", "--image", busybox_image, "--port", "8080", check=False)
    assert dup.returncode == 6 and "already exists" in dup.stderr
    cli("logout")
    unauth = cli("apps", check=False)
    assert unauth.returncode == 4 and "bp login" in unauth.stderr


def test_wrong_password_is_refused_with_auth_exit_code(tmp_path, sshd_server, agent):
    bp = Bp(tmp_path, sshd_server.known_hosts_path)
    add_server(bp, sshd_server, agent)
    result = bp("login", "--email", agent.admin_email, "--password-stdin", input="nope-nope\n", check=False)
    assert result.returncode == 4 and "wrong email or password" in result.stderr


def test_token_file_fallback_is_private(cli):
    tokens = cli.home / "cfg" / "tokens.json"
    assert tokens.exists() and (tokens.stat().st_mode & 0o777) == 0o600


def test_unknown_host_key_is_not_trusted_without_a_terminal(tmp_path, sshd_server, agent):
    bp = Bp(tmp_path, tmp_path / "empty_known_hosts")
    add_server(bp, sshd_server, agent)
    result = bp("apps", check=False)
    assert result.returncode == 3
    assert "SHA256:" in result.stderr and "not known" in result.stderr
    assert not (tmp_path / "empty_known_hosts").exists() or \
        sshd_server.host_public_key not in (tmp_path / "empty_known_hosts").read_text()


def test_unknown_host_key_confirmed_in_a_terminal_is_remembered(tmp_path, sshd_server, agent):
    known = tmp_path / "known_hosts"
    bp = Bp(tmp_path, known)
    add_server(bp, sshd_server, agent)
    fingerprint = subprocess.run(["ssh-keygen", "-lf", f"{sshd_server.host_key}.pub"],
                                 capture_output=True, text=True, check=True).stdout.split()[1]
    output = _run_in_pty(bp.args("status"), bp.env, answer="yes\n")
    assert fingerprint in output
    assert sshd_server.host_public_key in known.read_text()
    again = bp("apps", check=False)  # no prompt now; fails only for lack of login
    assert again.returncode == 4


def test_changed_host_key_is_refused_with_an_explanation(tmp_path, agent):
    server = SshServer(short_tmpdir("bp-ssh-chg-"))
    server.start()
    try:
        old_known = tmp_path / "known_hosts"
        old_known.write_text(server.known_hosts_line() + "\n")
        bp = Bp(tmp_path, old_known)
        add_server(bp, server, agent)
        assert bp("apps", check=False).returncode == 4  # connects; just not logged in
        server.restart_with_new_host_key()
        result = bp("apps", check=False)
        assert result.returncode == 3
        assert "changed" in result.stderr.lower() and "ssh-keygen -R" in result.stderr
    finally:
        server.stop()


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.read().decode()
    except OSError:
        return None


def _run_in_pty(argv: list[str], env: dict, answer: str, timeout: float = 30) -> str:
    """Run a command with a terminal on stdin (as a person would) and answer its prompt."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(argv, env=env, stdin=terminal, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    os.close(terminal)
    deadline = time.monotonic() + timeout
    try:
        time.sleep(0.5)
        os.write(controller, answer.encode())
        out, _ = proc.communicate(timeout=max(1, deadline - time.monotonic()))
    finally:
        os.close(controller)
        if proc.poll() is None:
            proc.kill()
    return out
