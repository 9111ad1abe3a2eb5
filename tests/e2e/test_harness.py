"""Self-tests of tests/harness: each proves one thing later e2e tests rely on."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest

from harness import PodmanService, SshServer, agent_request, build_busybox_image, build_busybox_variant
from harness.system import free_port, pids_mentioning, require_binaries, short_tmpdir, wait_until

pytestmark = pytest.mark.e2e


def http_get(url: str, timeout: float = 5) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def run_web(podman_service: PodmanService) -> Iterator[Callable[..., tuple[str, str]]]:
    """run(image, *podman_run_args) -> (name, base URL) of a serving container; removed after."""
    names: list[str] = []

    def run(image: str, *args: str) -> tuple[str, str]:
        name = f"harness-{uuid.uuid4().hex[:8]}"
        names.append(name)
        port = free_port()
        podman_service.cli("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8080", *args, image)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_get(url + "/", timeout=2)[0] == 200, timeout=15, what=f"{name} to serve")
        return name, url

    yield run
    for name in names:
        podman_service.cli("rm", "-f", "-t", "0", name, check=False)


# --- Podman and the busybox image -------------------------------------------------------

def test_podman_service_uses_its_own_store(podman_service: PodmanService) -> None:
    status, body = podman_service.request("GET", "/v4.0.0/libpod/info")
    assert status == 200
    store = json.loads(body)["store"]
    assert store["graphRoot"] == str(podman_service.root)
    assert store["runRoot"] == str(podman_service.runroot)


def test_plain_podman_with_service_env_sees_the_same_store(podman_service: PodmanService, busybox_image: str) -> None:
    result = subprocess.run(["podman", "image", "exists", busybox_image], env=podman_service.env)
    assert result.returncode == 0


def test_busybox_container_serves_index_on_published_port(run_web, busybox_image: str) -> None:
    _, url = run_web(busybox_image)
    assert http_get(url + "/") == (200, "hello from basepod test\n")


def test_health_cgi_turns_500_after_touching_tmp_unhealthy(run_web, podman_service, busybox_image) -> None:
    name, url = run_web(busybox_image)
    assert http_get(url + "/cgi-bin/health") == (200, "ok\n")
    podman_service.cli("exec", name, "touch", "/tmp/unhealthy")
    assert http_get(url + "/cgi-bin/health") == (500, "unhealthy\n")


def test_env_cgi_shows_variable_passed_with_dash_e(run_web, busybox_image: str) -> None:
    _, url = run_web(busybox_image, "-e", "BASEPOD_PROBE=xyzzy-42")
    status, body = http_get(url + "/cgi-bin/env")
    assert status == 200
    assert "BASEPOD_PROBE=xyzzy-42" in body.splitlines()


def test_variant_image_serves_its_own_body(run_web, podman_service, busybox_image: str) -> None:
    variant = build_busybox_variant(podman_service, "localhost/basepod-test/busybox:v2", "version two\n")
    _, url_v1 = run_web(busybox_image)
    _, url_v2 = run_web(variant)
    assert http_get(url_v2 + "/") == (200, "version two\n")
    assert http_get(url_v1 + "/") == (200, "hello from basepod test\n")
    assert http_get(url_v2 + "/cgi-bin/health") == (200, "ok\n")


def test_podman_stop_removes_containers_and_leaves_no_processes() -> None:
    require_binaries("podman", "conmon", "runc", "/bin/busybox")
    service = PodmanService(short_tmpdir("bp-pod-"))
    try:
        service.start()
        image = build_busybox_image(service)
        service.cli("run", "-d", "--name", "leak-check", image)
        assert pids_mentioning(str(service.base_dir)), "expected conmon to mention the store"
        service.stop()
        assert pids_mentioning(str(service.base_dir)) == []
    finally:
        service.destroy()
    assert not service.base_dir.exists()


# --- sshd ---------------------------------------------------------------------------------

def run_ssh(server: SshServer, *command: str, known_hosts: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(server.ssh_args(known_hosts=known_hosts) + list(command),
                          capture_output=True, text=True, timeout=30)


class UnixEchoServer:
    """A tiny Unix socket server standing in for the agent socket at the far end of a tunnel."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"pong:" + conn.recv(100))

    def close(self) -> None:
        self.sock.close()


def ask_through(local_socket: Path, payload: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(local_socket))
        sock.sendall(payload)
        return sock.recv(100)


@pytest.fixture
def unix_tunnel(sshd_server: SshServer) -> Iterator[Callable[[], tuple[subprocess.Popen, Path]]]:
    """open() -> (ssh -N -L process, local socket) forwarding to a UnixEchoServer."""
    base = short_tmpdir("bp-tun-")
    remote = UnixEchoServer(base / "remote.sock")
    processes: list[subprocess.Popen] = []

    def open_tunnel() -> tuple[subprocess.Popen, Path]:
        local = base / f"local-{len(processes)}.sock"
        args = sshd_server.ssh_args("-N", "-o", "ExitOnForwardFailure=yes",
                                    "-o", "ServerAliveInterval=1", "-L", f"{local}:{remote.path}")
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        processes.append(process)
        wait_until(lambda: local.exists() or process.poll() is not None, timeout=15, what="tunnel socket")
        assert process.poll() is None, process.stderr.read()
        return process, local

    yield open_tunnel
    for process in processes:
        process.kill()
        process.wait()
    remote.close()
    shutil.rmtree(base, ignore_errors=True)


def test_sshd_accepts_client_key_with_openssh(sshd_server: SshServer) -> None:
    result = run_ssh(sshd_server, "echo", "ok")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"


def test_known_hosts_file_holds_the_host_key_line(sshd_server: SshServer) -> None:
    line = sshd_server.known_hosts_path.read_text().strip()
    assert line == sshd_server.known_hosts_line()
    assert line.startswith(f"[127.0.0.1]:{sshd_server.port} ssh-ed25519 ")


def test_openssh_forwards_a_local_unix_socket_to_a_remote_one(unix_tunnel) -> None:
    _, local = unix_tunnel()
    assert ask_through(local, b"hi") == b"pong:hi"


def test_drop_connections_breaks_live_session_but_accepts_new_ones(sshd_server: SshServer, unix_tunnel) -> None:
    process, local = unix_tunnel()
    assert ask_through(local, b"before") == b"pong:before"
    sshd_server.drop_connections()
    assert process.wait(timeout=15) == 255
    result = run_ssh(sshd_server, "echo", "ok")
    assert result.returncode == 0, result.stderr
    _, new_local = unix_tunnel()
    assert ask_through(new_local, b"after") == b"pong:after"


def test_restart_with_new_host_key_is_refused_by_old_known_hosts() -> None:
    require_binaries("/usr/sbin/sshd", "ssh-keygen", "ssh")
    base = short_tmpdir("bp-ssh-")
    server = SshServer(base)
    try:
        server.start()
        assert run_ssh(server, "true").returncode == 0
        old_line = server.known_hosts_line()
        port = server.port

        server.restart_with_new_host_key()

        assert server.port == port and server.known_hosts_line() != old_line
        refused = run_ssh(server, "true")
        assert refused.returncode == 255
        assert "Host key verification failed" in refused.stderr
        server.trust_current_host_key()
        assert run_ssh(server, "true").returncode == 0
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


# --- the agent --------------------------------------------------------------------------

def test_agent_process_answers_version_on_its_socket(agent_factory) -> None:
    pytest.importorskip("basepod_agent.main", reason="basepod_agent is not importable yet")
    agent = agent_factory()
    status, body = agent_request(str(agent.socket_path), "GET", "/api/version")
    assert status == 200
    assert {"agent_version", "protocol_version"} <= set(body)
    agent.restart()
    assert agent.request("GET", "/api/version")[0] == 200
    agent.kill()
    agent.start()  # after a crash, on the same state dir: no second init
    assert agent.request("GET", "/api/version")[0] == 200
