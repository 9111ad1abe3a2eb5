"""Shared pieces of the deploy end-to-end tests: local git repos, waiting on deploys."""

from __future__ import annotations

import subprocess
import urllib.request
from pathlib import Path

from harness.system import wait_until

FINISHED = {"success", "failed", "cancelled", "interrupted"}


def git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "Test",
           "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(repo), "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def make_repo(path: Path, files: dict[str, str], message: str = "first version") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    commit(path, files, message)
    return path


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def serving(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=3) as resp:
            return resp.read().decode()
    except OSError:
        return None


def wait_body(port: int, expected: str, timeout: float = 15) -> str:
    return wait_until(lambda: serving(port) == expected and expected, timeout, f"{expected!r} on port {port}")


def wait_deploy(agent, token, app: str, deploy_id: str, timeout: float = 60) -> dict:
    def done():
        status, body = agent.request("GET", f"/api/apps/{app}/deploys/{deploy_id}", token=token)
        assert status == 200, body
        return body if body["status"] in FINISHED else None

    return wait_until(done, timeout, f"deploy {deploy_id} to finish", interval=0.2)


def wait_status(agent, token, app: str, deploy_id: str, wanted: str, timeout: float = 30) -> dict:
    def reached():
        body = agent.request("GET", f"/api/apps/{app}/deploys/{deploy_id}", token=token)[1]
        return body if body["status"] == wanted else None

    return wait_until(reached, timeout, f"deploy {deploy_id} to be {wanted}", interval=0.1)


def deploy_log(agent, token, app: str, deploy_id: str) -> str:
    status, body = agent.request("GET", f"/api/apps/{app}/deploys/{deploy_id}/log", token=token)
    assert status == 200, body
    return body["text"]


def create_app(agent, token, name: str, image: str) -> dict:
    status, body = agent.request("POST", "/api/apps", {"name": name, "image": image, "port": 8080}, token=token)
    assert status == 201, body
    return body


def set_git_source(agent, token, app: str, repo: Path, **extra) -> dict:
    status, body = agent.request("PUT", f"/api/apps/{app}/source",
                                 {"type": "git", "url": f"file://{repo}", "branch": "main", **extra}, token=token)
    assert status == 200, body
    return body


def start_deploy(agent, token, app: str, **body) -> str:
    status, created = agent.request("POST", f"/api/apps/{app}/deploy", body or None, token=token)
    assert status == 202, created
    return created["id"]
