"""Git deploy through the agent vs the same work by hand.

Each round commits a change to a local repo (file://), then either
  agent: POST /api/apps/{app}/deploy and wait until the new body is served, or
  hand:  git clone + podman build + podman rm -f + podman run, and wait the same way.
Both use the same isolated Podman store and layer cache; the Dockerfile's RUN step
changes every round so neither side gets a free cache hit.

    python bench/bench_deploy.py [--rounds 5]

Prints per-round seconds, medians and the median ratio (goal <= 1.10).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import AgentProcess, PodmanService, build_busybox_image, short_tmpdir  # noqa: E402

GIT_ENV = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@x", "PATH": "/usr/bin:/bin", "HOME": "/tmp"}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=GIT_ENV)


def commit_version(repo: Path, base: str, body: str) -> None:
    (repo / "Dockerfile").write_text(f"FROM {base}\nRUN echo '{body}' > /www/index.html\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", body)


def wait_body(port: int, body: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
                if resp.read().decode() == body + "\n":
                    return
        except OSError:
            pass
        time.sleep(0.02)
    raise TimeoutError(f"{body!r} never served on {port}")


def by_agent(agent: AgentProcess, token: str, port: int, body: str) -> float:
    start = time.monotonic()
    status, created = agent.request("POST", "/api/apps/bench/deploy", None, token=token)
    assert status == 202, created
    while True:
        info = agent.request("GET", f"/api/apps/bench/deploys/{created['id']}", token=token)[1]
        if info["status"] in ("success", "failed", "cancelled", "interrupted"):
            break
        time.sleep(0.02)
    assert info["status"] == "success", info
    wait_body(port, body)
    return time.monotonic() - start


def by_hand(podman: PodmanService, repo: Path, port: int, body: str, tag: str) -> float:
    start = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="bp-bench-hand-"))
    try:
        subprocess.run(["git", "clone", "-q", "--branch", "main", f"file://{repo}", str(work / "src")],
                       check=True, capture_output=True, env=GIT_ENV)
        podman.cli("build", "-q", "-t", tag, str(work / "src"))
        podman.cli("rm", "-f", "-t", "1", "bench-hand", check=False)
        podman.cli("run", "-d", "--name", "bench-hand", "-p", f"{port}:8080", tag)
        wait_body(port, body)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    podman = PodmanService(short_tmpdir("bp-bench-pod-"))
    podman.start()
    agent = None
    repo_dir = Path(tempfile.mkdtemp(prefix="bp-bench-repo-"))
    try:
        base = build_busybox_image(podman)
        agent = AgentProcess(short_tmpdir("bp-bench-agent-"), podman, extra_args=["--stop-timeout", "1"]).start()
        token = agent.request("POST", "/api/auth/login", {"email": agent.admin_email,
                                                          "password": agent.admin_password})[1]["token"]
        status, app = agent.request("POST", "/api/apps", {"name": "bench", "image": base, "port": 8080}, token=token)
        assert status == 201, app
        repo = repo_dir / "repo"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        commit_version(repo, base, "warm-up")
        agent.request("PUT", "/api/apps/bench/source", {"type": "git", "url": f"file://{repo}", "branch": "main"},
                      token=token)
        by_agent(agent, token, app["host_port"], "warm-up")
        hand_port = app["host_port"] + 1
        by_hand(podman, repo, hand_port, "warm-up", "localhost/bench/hand:warm")
        agent_times, hand_times = [], []
        for i in range(args.rounds):
            commit_version(repo, base, f"agent-{i}")
            agent_times.append(by_agent(agent, token, app["host_port"], f"agent-{i}"))
            commit_version(repo, base, f"hand-{i}")
            hand_times.append(by_hand(podman, repo, hand_port, f"hand-{i}", f"localhost/bench/hand:{i}"))
            print(f"round {i}: agent {agent_times[-1]:.2f} s  by hand {hand_times[-1]:.2f} s", flush=True)
        a, h = statistics.median(agent_times), statistics.median(hand_times)
        print(f"median: agent {a:.2f} s  by hand {h:.2f} s  ratio {a / h:.2f} (goal <= 1.10)")
    finally:
        if agent is not None:
            agent.stop()
            shutil.rmtree(agent.base_dir, ignore_errors=True)
        podman.destroy()
        shutil.rmtree(repo_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
