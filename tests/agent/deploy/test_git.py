"""Git sources with real git: clone, fetch, checkout, errors, deploy keys over real SSH."""

from __future__ import annotations

import asyncio
import os
import shlex
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from basepod_agent.runtime.git import GitError, export_tree, fetch_source, ssh_command

GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com",
           "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.com"}


class Repo:
    """A source repository the tests push commits to."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")

    @property
    def url(self) -> str:
        return f"file://{self.path}"

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.path, env=GIT_ENV, check=True,
                              capture_output=True, text=True).stdout.strip()

    def commit(self, message: str, files: dict[str, str]) -> str:
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path) -> Repo:
    repo = Repo(tmp_path / "origin")
    repo.commit("first", {"app.txt": "v1\n", "web/index.html": "hello v1\n"})
    return repo


async def test_first_deploy_clones_the_branch_head_and_reports_the_commit(repo, tmp_path):
    head = repo.git("rev-parse", "HEAD")
    lines: list[str] = []
    info = await fetch_source(repo.url, "main", tmp_path / "cache" / "web", log=lines.append)
    assert info.sha == head
    assert info.message == "first"
    assert info.author == "Ada <ada@example.com>"
    assert (tmp_path / "cache" / "web" / "app.txt").read_text() == "v1\n"
    assert any("Cloning" in line for line in lines)
    assert any(line.startswith("Checked out") for line in lines)


async def test_a_later_deploy_fetches_new_commits_into_the_same_cache(repo, tmp_path):
    cache = tmp_path / "cache" / "web"
    await fetch_source(repo.url, "main", cache)
    second = repo.commit("second", {"app.txt": "v2\n"})
    lines: list[str] = []
    info = await fetch_source(repo.url, "main", cache, log=lines.append)
    assert info.sha == second and info.message == "second"
    assert (cache / "app.txt").read_text() == "v2\n"
    assert any("Fetching main" in line for line in lines)


async def test_a_specific_commit_is_checked_out_by_full_or_short_id(repo, tmp_path):
    first = repo.git("rev-parse", "HEAD")
    repo.commit("second", {"app.txt": "v2\n"})
    cache = tmp_path / "cache"
    info = await fetch_source(repo.url, "main", cache, commit=first[:8])
    assert info.sha == first and (cache / "app.txt").read_text() == "v1\n"
    info = await fetch_source(repo.url, "main", cache, commit=repo.git("rev-parse", "HEAD"))
    assert info.message == "second" and (cache / "app.txt").read_text() == "v2\n"


async def test_another_branch_and_a_commit_only_on_it_can_be_deployed(repo, tmp_path):
    repo.git("checkout", "-q", "-b", "feature/x")
    feature = repo.commit("feature work", {"app.txt": "feature\n"})
    repo.git("checkout", "-q", "main")
    cache = tmp_path / "cache"
    await fetch_source(repo.url, "main", cache)
    info = await fetch_source(repo.url, "feature/x", cache)
    assert info.sha == feature and (cache / "app.txt").read_text() == "feature\n"
    await fetch_source(repo.url, "main", cache)
    info = await fetch_source(repo.url, "main", cache, commit=feature)  # not on main: fetched by id
    assert info.sha == feature


async def test_leftovers_of_a_previous_build_are_cleaned_from_the_cache(repo, tmp_path):
    cache = tmp_path / "cache"
    await fetch_source(repo.url, "main", cache)
    (cache / "node_modules").mkdir()
    (cache / "app.txt").write_text("edited by a build\n")
    await fetch_source(repo.url, "main", cache)
    assert not (cache / "node_modules").exists()
    assert (cache / "app.txt").read_text() == "v1\n"


async def test_unknown_branch_is_a_clear_error_on_clone_and_on_fetch(repo, tmp_path):
    with pytest.raises(GitError, match="branch 'nope' does not exist"):
        await fetch_source(repo.url, "nope", tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists(), "a failed clone leaves no half-made cache"
    await fetch_source(repo.url, "main", tmp_path / "cache")
    with pytest.raises(GitError, match="branch 'nope' does not exist"):
        await fetch_source(repo.url, "nope", tmp_path / "cache")


async def test_unknown_commit_is_a_clear_error(repo, tmp_path):
    with pytest.raises(GitError, match="commit deadbeef was not found"):
        await fetch_source(repo.url, "main", tmp_path / "cache", commit="deadbeef")
    with pytest.raises(GitError, match="was not found"):
        await fetch_source(repo.url, "main", tmp_path / "cache", commit="f" * 40)


async def test_unknown_repository_is_a_clear_error(tmp_path):
    with pytest.raises(GitError, match="does not exist or is not accessible"):
        await fetch_source(f"file://{tmp_path}/missing.git", "main", tmp_path / "cache")


async def test_disallowed_transports_are_refused_by_git_itself(tmp_path):
    with pytest.raises(GitError):
        await fetch_source("ext::sh -c 'touch /tmp/bp-pwned'", "main", tmp_path / "cache")
    assert not Path("/tmp/bp-pwned").exists()


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never answers (a hung git server)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1], accepted
    server.close()
    for conn in accepted:
        conn.close()


async def test_a_hung_server_hits_the_timeout(silent_server, tmp_path):
    port, _ = silent_server
    with pytest.raises(GitError, match="did not finish in time"):
        await fetch_source(f"git://127.0.0.1:{port}/repo.git", "main", tmp_path / "cache", timeout=1)


async def test_cancelling_a_fetch_kills_git(silent_server, tmp_path):
    port, accepted = silent_server
    task = asyncio.create_task(fetch_source(f"git://127.0.0.1:{port}/r.git", "main", tmp_path / "c"))
    for _ in range(100):
        if accepted:
            break
        await asyncio.sleep(0.05)
    assert accepted, "git connected"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    accepted[0].settimeout(5)
    assert accepted[0].recv(65536) is not None  # drain the request
    accepted[0].settimeout(5)
    assert accepted[0].recv(1) == b"", "git's connection was closed"


async def test_export_copies_the_tree_or_a_subdir_without_git_metadata(repo, tmp_path):
    cache = tmp_path / "cache"
    await fetch_source(repo.url, "main", cache)
    whole = await export_tree(cache, None, tmp_path / "ctx")
    assert (whole / "app.txt").exists() and not (whole / ".git").exists()
    sub = await export_tree(cache, "web", tmp_path / "ctx2")
    assert sorted(p.name for p in sub.iterdir()) == ["index.html"]
    with pytest.raises(GitError, match="does not exist"):
        await export_tree(cache, "nope", tmp_path / "ctx3")


async def test_export_refuses_a_subdir_symlink_pointing_outside_the_repository(repo, tmp_path):
    (repo.path / "escape").symlink_to("/etc")
    repo.commit("symlink", {})
    cache = tmp_path / "cache"
    await fetch_source(repo.url, "main", cache)
    with pytest.raises(GitError, match="outside the repository"):
        await export_tree(cache, "escape", tmp_path / "ctx")


def test_ssh_command_pins_the_key_and_host_checking_and_survives_odd_paths():
    command = ssh_command("/tmp/key dir/deploy key", "/var/lib/basepod/known hosts")
    args = shlex.split(command)  # git runs it through sh
    assert args[0] == "ssh"
    assert args[args.index("-i") + 1] == "/tmp/key dir/deploy key"
    assert "IdentitiesOnly=yes" in args and "BatchMode=yes" in args
    assert "StrictHostKeyChecking=accept-new" in args
    assert "UserKnownHostsFile=/var/lib/basepod/known hosts" in args
    assert "-i" not in shlex.split(ssh_command(None, "/kh"))


@pytest.fixture
def ssh_spy(tmp_path, monkeypatch):
    """An `ssh` first on PATH that records its arguments and the key file's mode."""
    spy_dir = tmp_path / "spybin"
    spy_dir.mkdir()
    record = tmp_path / "ssh-calls.txt"
    script = spy_dir / "ssh"
    script.write_text(
        "#!/bin/sh\n"
        'key=""; prev=""\n'
        'for a in "$@"; do [ "$prev" = "-i" ] && key="$a"; prev="$a"; done\n'
        f'echo "ARGS $*" >> {record}\n'
        f'[ -n "$key" ] && echo "KEY $(stat -c %a "$key") DIR $(stat -c %a "$(dirname "$key")")" >> {record}\n'
        f'echo >> {record}\n'
        'exec /usr/bin/ssh "$@"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{spy_dir}:{os.environ['PATH']}")
    return record


async def test_a_private_repository_is_cloned_over_ssh_with_the_deploy_key(sshd_server, repo, tmp_path, ssh_spy):
    url = f"ssh://{sshd_server.user}@127.0.0.1:{sshd_server.port}{repo.path}"
    key = sshd_server.client_key.read_text()
    known_hosts = tmp_path / "known_hosts"
    lines: list[str] = []
    info = await fetch_source(url, "main", tmp_path / "cache", deploy_key=key, known_hosts=known_hosts,
                              log=lines.append)
    assert info.message == "first"
    assert "127.0.0.1" in known_hosts.read_text(), "host key learnt on first use"
    fingerprint = subprocess.run(["ssh-keygen", "-lf", f"{sshd_server.host_key}.pub"], capture_output=True,
                                 text=True, check=True).stdout.split()[1]
    first_use = f"First SSH connection to [127.0.0.1]:{sshd_server.port}: trusted its host key {fingerprint} "
    assert any(line.startswith(first_use) for line in lines), lines
    calls = ssh_spy.read_text()
    assert "IdentitiesOnly=yes" in calls
    assert "KEY 600 DIR 700" in calls
    key_path = calls.split(" -i ")[1].split()[0]
    assert not Path(key_path).exists(), "the key file is removed after the operation"
    # A later deploy fetches over the same key and the now-pinned host key.
    repo.commit("second", {"app.txt": "v2\n"})
    lines.clear()
    info = await fetch_source(url, "main", tmp_path / "cache", deploy_key=key, known_hosts=known_hosts,
                              log=lines.append)
    assert info.message == "second" and not any("First SSH connection" in line for line in lines)


async def test_a_wrong_deploy_key_is_reported_as_an_authentication_failure(sshd_server, repo, tmp_path):
    other = tmp_path / "other_key"
    await asyncio.to_thread(subprocess.run, ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)],
                            check=True)
    url = f"ssh://{sshd_server.user}@127.0.0.1:{sshd_server.port}{repo.path}"
    with pytest.raises(GitError, match="could not authenticate"):
        await fetch_source(url, "main", tmp_path / "cache", deploy_key=other.read_text(),
                           known_hosts=tmp_path / "known_hosts")


async def test_a_changed_host_key_is_refused(sshd_server, repo, tmp_path):
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{sshd_server.port} ssh-ed25519 "
                           "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n")
    url = f"ssh://{sshd_server.user}@127.0.0.1:{sshd_server.port}{repo.path}"
    with pytest.raises(GitError, match="SSH host key of .* changed since this agent first connected") as caught:
        await fetch_source(url, "main", tmp_path / "cache", deploy_key=sshd_server.client_key.read_text(),
                           known_hosts=known_hosts)
    assert f"remove its line from {known_hosts}" in str(caught.value)


async def test_every_crlf_terminated_line_reaches_the_log_even_split_across_reads():
    """ssh ends its lines with \\r\\n; they are lines, not rate-limited progress updates."""
    from basepod_agent.runtime.git import _Runner

    reader = asyncio.StreamReader()
    for chunk in (b"@@@ WARNING\r", b"\nline two\r\nprogress 1%\rprogress 2%\r", b"\nlast"):
        reader.feed_data(chunk)
    reader.feed_eof()
    lines: list[str] = []
    await _Runner({}, 0, lines.append)._read_stderr(reader, stream=True)
    assert lines[:2] == ["@@@ WARNING", "line two"] and lines[-2:] == ["progress 2%", "last"]
