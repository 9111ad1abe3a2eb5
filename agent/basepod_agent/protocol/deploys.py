"""Deploy models (issue #5): where an app's code comes from, deploy records, the
``.basepod`` schema and the build-log stream.

Validation lives here, not in the agent, so ``bp`` and the desktop refuse a bad git URL
or branch before a request is sent. Branch names follow ``git check-ref-format --branch``
and URLs are limited to transports the agent allows git to use: anything else (``ext::``,
a leading ``-``) could make git run a command of the user's choosing.
"""

from __future__ import annotations

import re
import shlex
from datetime import datetime
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from basepod_agent.protocol.validation import env_key_problem, env_value_problem

GIT_URL_SCHEMES = ("https", "ssh", "git", "file")
_SCHEME_URL_RE = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>.*)$")
# scp-like syntax: user@host:path (git treats it as ssh). The path must not start with
# "//" (that would be a URL) and the host must look like a host name.
_SCP_URL_RE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!//)[^\s]+$")
_HOST_RE = re.compile(r"^(?:[A-Za-z0-9._~%!$&'()*+,;=:-]+@)?(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")
_COMMIT_RE = re.compile(r"^[0-9a-fA-F]{7,40}$")
_REF_FORBIDDEN_CHARS = set(" ~^:?*[\\")
MAX_URL_LEN = 2048
MAX_REF_LEN = 255


def git_url_problem(url: str) -> str | None:
    """Why ``url`` is not an acceptable git remote, or None."""
    if not url or len(url) > MAX_URL_LEN:
        return f"git URL must be 1 to {MAX_URL_LEN} characters"
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        return "git URL must not contain spaces or control characters"
    if url.startswith("-"):
        return "git URL must not start with '-'"
    match = _SCHEME_URL_RE.match(url)
    if match:
        scheme, rest = match["scheme"].lower(), match["rest"]
        if scheme not in GIT_URL_SCHEMES:
            return f"git URL scheme {scheme!r} is not allowed (use one of: {', '.join(GIT_URL_SCHEMES)})"
        if scheme == "file":
            if not rest.startswith("/") or len(rest) < 2:
                return "file:// URL must name an absolute path, e.g. file:///srv/git/app.git"
            return None
        host, _, path = rest.partition("/")
        if not host or not _HOST_RE.match(host):
            return f"git URL {url!r} has no valid host"
        if not path:
            return f"git URL {url!r} has no repository path"
        return None
    if "::" in url:
        return "git remote-helper URLs (transport::address) are not allowed"
    if _SCP_URL_RE.match(url):
        return None
    return (f"git URL {url!r} is not recognised: use https://host/owner/repo.git, "
            "ssh://git@host/owner/repo.git, git@host:owner/repo.git or file:///path")


def ref_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid branch name per ``git check-ref-format --branch``, or None."""
    if not name:
        return "branch must not be empty"
    if len(name) > MAX_REF_LEN:
        return f"branch must be at most {MAX_REF_LEN} characters"
    if name == "@" or name == "HEAD":
        return f"{name!r} is not a branch name"
    if name.startswith("-"):
        return "branch must not start with '-'"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        return "branch must not contain control characters"
    bad = sorted(set(name) & _REF_FORBIDDEN_CHARS)
    if bad:
        return f"branch must not contain {' '.join(repr(ch) for ch in bad)}"
    if ".." in name:
        return "branch must not contain '..'"
    if "@{" in name:
        return "branch must not contain '@{'"
    if name.startswith("/") or name.endswith("/") or "//" in name:
        return "branch must not start or end with '/' or contain '//'"
    if name.endswith("."):
        return "branch must not end with '.'"
    for part in name.split("/"):
        if part.startswith("."):
            return "no part of a branch name may start with '.'"
        if part.endswith(".lock"):
            return "no part of a branch name may end with '.lock'"
    return None


def relative_path_problem(path: str, what: str) -> str | None:
    """Why ``path`` is not a safe path inside a repository, or None."""
    if not path:
        return f"{what} must not be empty"
    if "\x00" in path or "\\" in path:
        return f"{what} must use '/' and contain no NUL or backslash"
    if path.startswith("/"):
        return f"{what} must be relative to the repository, not absolute"
    if any(part == ".." for part in path.split("/")):
        return f"{what} must not contain '..'"
    return None


def _normal_relative(path: str | None, what: str) -> str | None:
    if path is None:
        return None
    problem = relative_path_problem(path, what)
    if problem:
        raise ValueError(problem)
    parts = [part for part in path.split("/") if part not in ("", ".")]
    return "/".join(parts) or None


class GitSource(BaseModel):
    type: Literal["git"] = "git"
    url: str
    branch: str = "main"
    subdir: str | None = Field(None, description="build from this folder of the repository")
    deploy_key: str | None = Field(
        None, exclude=True, max_length=16384,
        description="private SSH key for a private repository: write-only, stored encrypted, never sent back")

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        if problem := git_url_problem(url):
            raise ValueError(problem)
        return url

    @field_validator("branch")
    @classmethod
    def _branch(cls, branch: str) -> str:
        if problem := ref_name_problem(branch):
            raise ValueError(problem)
        return branch

    @field_validator("subdir")
    @classmethod
    def _subdir(cls, subdir: str | None) -> str | None:
        return _normal_relative(subdir, "subdir")


class ImageSource(BaseModel):
    type: Literal["image"] = "image"
    image: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$")


Source = Annotated[GitSource | ImageSource, Field(discriminator="type")]
SOURCE_ADAPTER: TypeAdapter = TypeAdapter(Source)


class SourceInfo(BaseModel):
    """An app's source as the agent reports it: the deploy key only as a yes/no."""

    app: str
    source: Source | None = None
    has_deploy_key: bool = False


class DeployStatus(str, Enum):
    """``interrupted``: the agent stopped (crash, restart) while the deploy was running."""

    QUEUED = "queued"
    BUILDING = "building"
    DEPLOYING = "deploying"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        return self in (DeployStatus.SUCCESS, DeployStatus.FAILED,
                        DeployStatus.CANCELLED, DeployStatus.INTERRUPTED)


class DeployInfo(BaseModel):
    id: str
    app: str
    source_type: Literal["git", "image", "upload", "rollback"]
    commit: str | None = None
    commit_message: str | None = None
    triggered_by: str = Field(description="user email, 'webhook' or 'token:<name>'")
    status: DeployStatus
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    image_tag: str | None = None
    error: str | None = None
    dockerfile_generated: bool = Field(
        False, description="the Dockerfile came from stack detection; view it with the deploy")
    rollback_to: str | None = Field(None, description="for a rollback: the version it went back to")
    source_image: str | None = Field(None, description="for an image deploy: the image asked for "
                                     "(image_tag is its release name, basepod/<app>:<id>)")


class DeployRequest(BaseModel):
    """Deploy the branch head, or the given commit (7 to 40 hex digits)."""

    model_config = ConfigDict(extra="forbid")
    commit: str | None = None

    @field_validator("commit")
    @classmethod
    def _commit(cls, commit: str | None) -> str | None:
        if commit is not None and not _COMMIT_RE.match(commit):
            raise ValueError("commit must be 7 to 40 hexadecimal digits")
        return commit.lower() if commit else commit


class DeployImageRequest(BaseModel):
    """Re-deploy from an image (``bp deploy NAME --image IMG``)."""

    model_config = ConfigDict(extra="forbid")
    image: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$")


class DeployCreated(BaseModel):
    id: str
    status: DeployStatus


class DeployList(BaseModel):
    deploys: list[DeployInfo]


# --- .basepod -------------------------------------------------------------------------
# Strict types: TOML already distinguishes 8080 from "8080", so a wrong type is the
# user's mistake and is reported, not coerced.


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class BasepodBuild(_Strict):
    dockerfile: str | None = Field(None, description="path of the Dockerfile, relative to the repository (or subdir)")
    context: str | None = Field(None, description="build context folder, relative to the repository (or subdir)")
    args: dict[str, str] = Field(default_factory=dict, description="passed to the build as --build-arg")

    @field_validator("dockerfile")
    @classmethod
    def _dockerfile(cls, value: str | None) -> str | None:
        return _normal_relative(value, "path")

    @field_validator("context")
    @classmethod
    def _context(cls, value: str | None) -> str | None:
        return _normal_relative(value, "path")

    @field_validator("args")
    @classmethod
    def _args(cls, args: dict[str, str]) -> dict[str, str]:
        for key, value in args.items():
            if problem := env_key_problem(key) or env_value_problem(key, value):
                raise ValueError(problem.replace("environment variable", "build argument"))
        return args


class BasepodHealth(_Strict):
    """Unset fields keep the agent's defaults (see protocol.health.HealthConfig)."""

    path: str | None = Field(None, pattern=r"^/[\x21-\x7e]{0,1023}$")
    interval_seconds: float | None = Field(None, gt=0, le=3600)
    timeout_seconds: float | None = Field(None, gt=0, le=120)
    failure_threshold: int | None = Field(None, ge=1, le=100)


class BasepodConfig(_Strict):
    build: BasepodBuild = Field(default_factory=BasepodBuild)
    port: int | None = Field(None, ge=1, le=65535, description="port the app listens on in the container")
    command: list[str] | None = Field(
        None, description="start command; a string is split like a shell would, but no shell runs it")
    health: BasepodHealth = Field(default_factory=BasepodHealth)
    env: dict[str, str] = Field(default_factory=dict, description="default env; never put secrets here")

    @field_validator("command", mode="before")
    @classmethod
    def _command(cls, command: object) -> object:
        if isinstance(command, str):
            try:
                command = shlex.split(command)
            except ValueError as exc:
                raise ValueError(f"cannot be split into arguments: {exc}") from None
        if isinstance(command, list):
            if not command or len(command) > 64:
                raise ValueError("must have 1 to 64 arguments")
            if any(isinstance(arg, str) and ("\x00" in arg or len(arg) > 4096) for arg in command):
                raise ValueError("arguments must be short text without NUL bytes")
        return command

    @field_validator("env")
    @classmethod
    def _env(cls, env: dict[str, str]) -> dict[str, str]:
        for key, value in env.items():
            if problem := env_key_problem(key) or env_value_problem(key, value):
                raise ValueError(problem)
        return env


# --- build-log stream -------------------------------------------------------------------


class BuildLogChunk(BaseModel):
    """``offset`` is the byte offset of ``text`` in the deploy's log: a client that
    reconnects asks for the stream from its last offset + len(text.encode())."""

    type: Literal["build_log"] = "build_log"
    offset: int = Field(ge=0)
    text: str


class BuildEnd(BaseModel):
    type: Literal["build_end"] = "build_end"
    status: DeployStatus


BuildLogMessage = Annotated[BuildLogChunk | BuildEnd, Field(discriminator="type")]
BUILD_LOG_ADAPTER: TypeAdapter = TypeAdapter(BuildLogMessage)


class DeployLog(BaseModel):
    """A slice of a deploy's log: ``text`` spans bytes ``offset`` to ``next_offset`` of
    ``size``; read on from ``next_offset`` while it is below ``size``."""

    id: str
    status: DeployStatus
    offset: int
    next_offset: int
    size: int
    text: str


class GeneratedDockerfile(BaseModel):
    id: str
    text: str
