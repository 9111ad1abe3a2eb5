"""Shared fixtures: real Podman, real sshd, the real agent process (see tests/harness/).

Each pytest-xdist worker is its own session, so every session-scoped fixture here is
per worker: separate Podman store and socket, separate sshd, distinct agent port ranges.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable, Iterator  # noqa: E402

import pytest  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `import harness`, whatever the rootdir

from harness import AgentProcess, PodmanService, SshServer, build_busybox_image  # noqa: E402
from harness.system import require_binaries, short_tmpdir  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """tests/artifacts/: screenshots and other files worth looking at after a run."""
    path = REPO_ROOT / "tests" / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def podman_service() -> Iterator[PodmanService]:
    """An isolated Podman API service (own store, socket, events, networks) per session."""
    require_binaries("podman", "conmon", "runc")
    service = PodmanService(short_tmpdir("bp-pod-"))
    try:
        service.start()
        yield service
    finally:
        service.destroy()


@pytest.fixture(scope="session")
def busybox_image(podman_service: PodmanService) -> str:
    """Tag of the busybox httpd test app image in the session's store."""
    require_binaries("/bin/busybox")
    return build_busybox_image(podman_service)


def _running_sshd(prefix: str) -> Iterator[SshServer]:
    require_binaries("/usr/sbin/sshd", "ssh-keygen", "ssh")
    base = short_tmpdir(prefix)
    server = SshServer(base)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def sshd_server() -> Iterator[SshServer]:
    """A session-wide sshd. Tests that rotate its host key must use ``own_sshd``."""
    yield from _running_sshd("bp-ssh-")


def _start_agent(podman: PodmanService, **kwargs) -> AgentProcess:
    return AgentProcess(short_tmpdir("bp-agent-"), podman, **kwargs)


def _dispose_agent(agent: AgentProcess, keep_log_in: Path | None) -> None:
    """Stop the agent, keep its log next to the test's tmp_path, delete its state."""
    agent.stop()
    if keep_log_in is not None and agent.log_path.exists():
        shutil.copy(agent.log_path, keep_log_in / f"{agent.base_dir.name}.log")
    shutil.rmtree(agent.base_dir, ignore_errors=True)


@pytest.fixture
def agent_factory(podman_service: PodmanService, tmp_path: Path) -> Iterator[Callable[..., AgentProcess]]:
    """make(start=True, **AgentProcess kwargs) -> a started agent, stopped at teardown.

    Defaults to the session's Podman service; pass podman=... to use another one.
    """
    made: list[AgentProcess] = []

    def make(start: bool = True, podman: PodmanService | None = None, **kwargs) -> AgentProcess:
        agent = _start_agent(podman or podman_service, **kwargs)
        made.append(agent)
        return agent.start() if start else agent

    yield make
    for agent in made:
        _dispose_agent(agent, tmp_path)


@pytest.fixture(scope="session")
def shared_agent(podman_service: PodmanService, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    """One agent for read-mostly tests; do not stop, restart or reconfigure it."""
    pytest.importorskip("basepod_agent.main", reason="basepod_agent is not importable yet")
    agent = _start_agent(podman_service)
    try:
        agent.start()
        yield agent
    finally:
        _dispose_agent(agent, tmp_path_factory.mktemp("shared-agent-log"))


FAST_STOP = ["--stop-timeout", "1"]  # busybox httpd as PID 1 ignores SIGTERM


@pytest.fixture
def agent(agent_factory):
    """A fresh agent for one test, on the session's isolated Podman."""
    return agent_factory(extra_args=FAST_STOP)


@pytest.fixture
def token(agent):
    """A session token of ``agent``'s admin."""
    status, body = agent.request("POST", "/api/auth/login",
                                 {"email": agent.admin_email, "password": agent.admin_password})
    assert status == 200, body
    return body["token"]


@pytest.fixture
def own_sshd() -> Iterator[SshServer]:
    """An sshd of the test's own, for tests that drop connections or change host keys."""
    yield from _running_sshd("bp-ssh-own-")

