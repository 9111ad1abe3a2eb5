"""Git on the server: keep a clone per app and check out the commit a deploy asks for.

Every git call is an argument list run with ``asyncio.create_subprocess_exec``: no shell
sees user input (URL, branch, commit). git is pinned down through its environment:
no terminal prompts (a private repo without credentials fails instead of hanging),
``GIT_ALLOW_PROTOCOL`` limits transports to the ones protocol.deploys accepts, messages
are in English so errors can be recognised, and ssh runs in batch mode with the deploy
key (if any) written 0600 into a private temp dir that is removed afterwards.

The clone is partial (``--filter=blob:none``): history is fetched, file contents only
for the checked-out commit, which keeps big repos cheap. Later blob fetches need the
same credentials, which is why every command gets the same environment.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import inspect
import os
import re
import shlex
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LogFn = Callable[[str], object]
DEFAULT_TIMEOUT = 600.0
_PROGRESS_EVERY = 1.0  # seconds between two "\r" progress updates passed to the log


class GitError(Exception):
    """A git operation failed; the message is meant for the person deploying."""


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    message: str  # subject line
    author: str  # "Name <email>"


def ssh_command(key_path: str | os.PathLike[str] | None, known_hosts: str | os.PathLike[str]) -> str:
    """The ``GIT_SSH_COMMAND`` value. git runs it through ``sh``, hence the quoting.

    ``accept-new`` trusts a host on first use and refuses a changed key afterwards, so
    ``known_hosts`` should be a file that outlives the deploy (one per agent).
    """
    args = ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=30",
            "-o", "StrictHostKeyChecking=accept-new",
            "-o", f"UserKnownHostsFile={known_hosts}"]
    if key_path is not None:
        args[1:1] = ["-i", str(key_path), "-o", "IdentitiesOnly=yes"]
    return " ".join(shlex.quote(arg) for arg in args)


def git_env(ssh: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update({
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "/bin/false",
        "SSH_ASKPASS": "/bin/false",
        "GIT_ALLOW_PROTOCOL": "https:ssh:git:file",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_SSH_COMMAND": ssh,
        "LC_ALL": "C",
        "LANG": "C",
    })
    return env


async def _emit(log: LogFn | None, line: str) -> None:
    if log is None:
        return
    result = log(line)
    if inspect.isawaitable(result):
        await result


def _human_error(stderr: str, url: str, branch: str, known_hosts: Path | None = None) -> str:
    """Turn git's stderr into one sentence a user can act on."""
    text = stderr.lower()
    if "remote host identification has changed" in text or "host key for" in text and "has changed" in text:
        return (f"the SSH host key of {url} changed since this agent first connected to it: if the "
                f"server was really re-keyed, remove its line from {known_hosts} and deploy again; "
                "otherwise someone may be intercepting the connection")
    if "host key verification failed" in text:
        return f"the SSH host key of {url} could not be verified against {known_hosts}"
    if "remote branch" in text and "not found" in text or "couldn't find remote ref" in text:
        return f"branch {branch!r} does not exist in {url}"
    if ("permission denied" in text or "authentication failed" in text
            or "could not read username" in text or "could not read password" in text):
        return f"git could not authenticate to {url}: check the deploy key or repository access"
    if ("repository not found" in text or "does not appear to be a git repository" in text
            or "not found" in text and "repository" in text or "no such file or directory" in text):
        return f"repository {url} does not exist or is not accessible"
    if "could not resolve host" in text or "connection refused" in text or "timed out" in text:
        return f"cannot reach {url}: {_last_line(stderr)}"
    return f"git failed: {_last_line(stderr)}"


def _last_line(stderr: str) -> str:
    lines = [line.strip() for line in re.split(r"[\r\n]", stderr) if line.strip()]
    fatal = [line for line in lines if line.startswith(("fatal:", "error:"))]
    return (fatal or lines or ["no output"])[-1][:500]


class _Runner:
    """Runs git commands against one deadline, streaming stderr lines to ``log``."""

    def __init__(self, env: dict[str, str], deadline: float, log: LogFn | None) -> None:
        self.env = env
        self.deadline = deadline
        self.log = log

    async def run(self, *args: str, cwd: Path | None = None, stream: bool = False,
                  check: bool = True) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            "git", *args, cwd=cwd, env=self.env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # so a timeout can kill ssh/upload-pack children too
        )
        remaining = self.deadline - time.monotonic()
        try:
            out, err = await asyncio.wait_for(
                asyncio.gather(proc.stdout.read(), self._read_stderr(proc.stderr, stream)),
                timeout=max(remaining, 0.01))
            await proc.wait()
        except asyncio.TimeoutError:
            _kill_group(proc)
            await proc.wait()
            raise GitError(f"git {args[0]} did not finish in time") from None
        except BaseException:  # cancelled: do not leave git running
            _kill_group(proc)
            await asyncio.shield(proc.wait())
            raise
        stdout, stderr = out.decode(errors="replace"), err
        if check and proc.returncode != 0:
            raise _RawGitFailure(stderr or stdout)
        return proc.returncode, stdout, stderr

    async def _read_stderr(self, reader: asyncio.StreamReader, stream: bool) -> str:
        collected: list[str] = []
        pending = b""
        last_progress = 0.0
        while chunk := await reader.read(4096):
            pending += chunk
            while (cut := _first_break(pending)) >= 0:
                if pending[cut:] == b"\r":
                    break  # a "\r\n" (ssh's line end) may be split across reads
                raw, sep, pending = pending[:cut], pending[cut:cut + 1], pending[cut + 1:]
                if sep == b"\r" and pending.startswith(b"\n"):
                    sep, pending = b"\n", pending[1:]
                line = raw.decode(errors="replace").rstrip()
                if not line:
                    continue
                collected.append(line + "\n")
                now = time.monotonic()
                if stream and (sep == b"\n" or now - last_progress >= _PROGRESS_EVERY):
                    last_progress = now
                    await _emit(self.log, line)
        if pending.strip():
            line = pending.decode(errors="replace").rstrip()
            collected.append(line)
            if stream:
                await _emit(self.log, line)
        return "".join(collected[-200:])


def _first_break(data: bytes) -> int:
    positions = [pos for pos in (data.find(b"\n"), data.find(b"\r")) if pos >= 0]
    return min(positions) if positions else -1


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class _RawGitFailure(Exception):
    """git exited non-zero; carries stderr until a caller turns it into a GitError."""


async def fetch_source(
    url: str,
    branch: str,
    dest: str | os.PathLike[str],
    commit: str | None = None,
    deploy_key: str | None = None,
    log: LogFn | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    known_hosts: str | os.PathLike[str] | None = None,
) -> CommitInfo:
    """Make ``dest`` a clone of ``url`` with ``commit`` (or the head of ``branch``) checked out.

    ``dest`` is the app's cache dir: cloned on first use, fetched on later deploys (the
    remote URL is updated if it changed). The working tree is reset and cleaned, so
    leftovers of a previous build never leak into the next one. ``deploy_key`` is the
    private key text; ``known_hosts`` defaults to ``known_hosts`` next to ``dest``.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    known_hosts = Path(known_hosts) if known_hosts else dest.parent / "known_hosts"
    deadline = time.monotonic() + timeout
    key_dir = tempfile.mkdtemp(prefix="bp-key-")  # 0700 by construction
    try:
        key_path = None
        if deploy_key is not None:
            key_path = Path(key_dir) / "deploy_key"
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(deploy_key.strip() + "\n")
        runner = _Runner(git_env(ssh_command(key_path, known_hosts)), deadline, log)
        trusted = _known_keys(known_hosts)
        try:
            return await _fetch(runner, url, branch, dest, commit)
        except _RawGitFailure as exc:
            raise GitError(_human_error(str(exc), url, branch, known_hosts)) from None
        finally:
            for host, fingerprint in _known_keys(known_hosts) - trusted:
                await _emit(log, f"First SSH connection to {host}: trusted its host key {fingerprint} "
                                 f"(kept in {known_hosts}; a changed key will fail deploys)")
    finally:
        shutil.rmtree(key_dir, ignore_errors=True)


def _known_keys(known_hosts: Path) -> set[tuple[str, str]]:
    """(host, SHA256 fingerprint) of each key in an OpenSSH known_hosts file."""
    try:
        lines = known_hosts.read_text().splitlines()
    except OSError:
        return set()
    keys = set()
    for line in lines:
        fields = line.split()
        if len(fields) < 3 or line.startswith(("#", "@")):
            continue
        try:
            blob = base64.b64decode(fields[2], validate=True)
        except ValueError:
            continue
        digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
        keys.add((fields[0], f"SHA256:{digest}"))
    return keys


async def _fetch(runner: _Runner, url: str, branch: str, dest: Path, commit: str | None) -> CommitInfo:
    if not (dest / ".git").is_dir():
        await _clone(runner, url, branch, dest)
    else:
        await runner.run("remote", "set-url", "origin", url, cwd=dest)
        await _emit(runner.log, f"Fetching {branch} from {url}")
        await runner.run("fetch", "--prune", "--progress", "--no-tags", "origin",
                         f"+refs/heads/{branch}:refs/remotes/origin/{branch}",
                         cwd=dest, stream=True)
    target = f"refs/remotes/origin/{branch}"
    if commit is not None:
        target = await _resolve_commit(runner, dest, commit, url)
    await runner.run("checkout", "--force", "--detach", target, cwd=dest, stream=True)
    await runner.run("clean", "-ffdxq", cwd=dest)
    _, out, _ = await runner.run("log", "-1", "--format=%H%x00%an <%ae>%x00%s", cwd=dest)
    sha, author, subject = (out.strip().split("\x00") + ["", ""])[:3]
    await _emit(runner.log, f"Checked out {sha[:12]} {subject}")
    return CommitInfo(sha=sha, message=subject, author=author)


async def _clone(runner: _Runner, url: str, branch: str, dest: Path) -> None:
    """Clone next to ``dest`` and rename, so a failed clone never leaves a broken cache."""
    if dest.exists():
        shutil.rmtree(dest)
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    await _emit(runner.log, f"Cloning {url} (branch {branch})")
    try:
        await runner.run("clone", "--progress", "--no-checkout", "--filter=blob:none",
                         "--single-branch", "--no-tags", "--branch", branch,
                         "--", url, str(partial), stream=True)
        os.replace(partial, dest)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


async def _resolve_commit(runner: _Runner, repo: Path, commit: str, url: str) -> str:
    """Full sha of ``commit``; fetched by id when it is not on the branch we track."""
    if not re.fullmatch(r"[0-9a-fA-F]{7,40}", commit):
        raise GitError(f"commit {commit!r} must be 7 to 40 hexadecimal digits")
    found = await _rev_parse(runner, repo, commit)
    if found is None and len(commit) == 40:
        code, _, _ = await runner.run("fetch", "--no-tags", "origin", commit, cwd=repo, check=False)
        found = await _rev_parse(runner, repo, commit) if code == 0 else None
    if found is None:
        raise GitError(f"commit {commit} was not found in {url} (is it pushed?)")
    return found


async def _rev_parse(runner: _Runner, repo: Path, commit: str) -> str | None:
    code, out, err = await runner.run("rev-parse", "--verify", "--quiet", "--end-of-options",
                                      f"{commit}^{{commit}}", cwd=repo, check=False)
    if code == 0:
        return out.strip()
    if "ambiguous" in err:
        raise GitError(f"commit {commit} is ambiguous: give more digits")
    return None


async def export_tree(repo_dir: str | os.PathLike[str], subdir: str | None,
                      dest: str | os.PathLike[str]) -> Path:
    """Copy the checked-out tree (or ``subdir`` of it) to ``dest`` without ``.git``.

    The build gets a copy rather than the cache itself so a build can never modify the
    clone, and a symlinked ``subdir`` cannot point the build outside the repository.
    """
    repo = Path(repo_dir).resolve()
    source = (repo / subdir).resolve() if subdir else repo
    if source != repo and repo not in source.parents:
        raise GitError(f"subdir {subdir!r} points outside the repository")
    if not source.is_dir():
        raise GitError(f"subdir {subdir!r} does not exist in this commit")
    target = Path(dest)

    def copy() -> None:
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target, symlinks=True,
                        ignore=lambda folder, names: [".git"] if ".git" in names else [])

    await asyncio.to_thread(copy)
    return target
