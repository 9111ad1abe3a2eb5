"""What onboarding knows and decides: host facts, install options, the server's manifest,
and the step events the installer streams to `bp` and the desktop.

Everything a person types (paths, the admin e-mail, the Podman URL) is validated here
against a narrow character set before it gets near a command line, although commands
are quoted anyway (`transport/remote.py`): two locks, because the installer runs as root.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, field_validator

MIN_PYTHON = (3, 10)
MIN_DISK_BYTES = 1 << 30  # below this an install (venv ~150 MB) plus images cannot work
LOW_DISK_BYTES = 5 << 30
SERVICE_NAME = "basepod-agent"
_PATH_RE = re.compile(r"^/[A-Za-z0-9._/+@-]*$")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+$")

ServiceMode = Literal["systemd-system", "systemd-user", "detached"]


def check_path(value: str, what: str) -> str:
    value = value.rstrip("/") or "/"
    if not _PATH_RE.match(value) or "/../" in value + "/" or "//" in value:
        raise ValueError(f"{what} must be an absolute path of letters, digits and . _ - + @ / "
                         f"(got {value!r})")
    return value


class HostFacts(BaseModel):
    """What `inspect` found on the server (one fixed script, one round trip)."""

    model_config = ConfigDict(frozen=True)

    user: str
    uid: int
    home: str
    os_id: str = ""
    os_like: list[str] = []
    os_name: str = ""
    python: Optional[str] = None
    python_version: Optional[str] = None
    python_venv: bool = False
    podman_version: Optional[str] = None
    subuid: bool = False
    systemd: bool = False
    systemd_state: str = ""
    package_manager: Optional[str] = None
    sudo: bool = False
    disk_free_bytes: Optional[int] = None
    mem_total_bytes: Optional[int] = None
    mem_available_bytes: Optional[int] = None
    server_time: Optional[int] = None
    prefix: str
    state_dir: str
    installed_version: Optional[str] = None
    manifest: Optional["InstallManifest"] = None
    initialised: bool = False

    @property
    def is_root(self) -> bool:
        return self.uid == 0

    @property
    def family(self) -> Optional[str]:
        ids = {self.os_id, *self.os_like}
        if ids & {"debian", "ubuntu"}:
            return "debian"
        if ids & {"fedora", "rhel", "centos"}:
            return "fedora"
        return None

    @property
    def python_ok(self) -> bool:
        if not self.python_version:
            return False
        parts = tuple(int(p) for p in self.python_version.split(".")[:2])
        return parts >= MIN_PYTHON

    @property
    def podman_mode(self) -> str:
        return "rootful" if self.is_root else "rootless"

    @property
    def service_mode(self) -> ServiceMode:
        if not self.systemd:
            return "detached"
        return "systemd-system" if self.is_root else "systemd-user"


class InstallOptions(BaseModel):
    """Where and how to install; `resolve_options` fills the defaults from the host."""

    model_config = ConfigDict(frozen=True)

    admin_email: str
    prefix: str
    state_dir: str
    socket: str
    podman_url: Optional[str] = None
    edge: Optional[str] = None
    install_podman: bool = False
    python: str = "python3"
    find_links: Optional[str] = None

    @field_validator("prefix", "state_dir", "socket", "find_links")
    @classmethod
    def _paths(cls, v: Optional[str], info) -> Optional[str]:
        return None if v is None else check_path(v, info.field_name.replace("_", " "))

    @field_validator("python")
    @classmethod
    def _python(cls, v: str) -> str:
        return v if v == "python3" else check_path(v, "python")

    @field_validator("admin_email")
    @classmethod
    def _email(cls, v: str) -> str:
        v = v.strip()
        if not _EMAIL_RE.match(v):
            raise ValueError(f"admin e-mail {v!r} is not an e-mail address")
        return v

    @field_validator("podman_url")
    @classmethod
    def _podman(cls, v: Optional[str]) -> Optional[str]:
        if v is None or not v.strip():
            return None
        if not v.startswith("unix://"):
            raise ValueError("Podman URL must be unix:///path/to/podman.sock")
        return "unix://" + check_path(v[len("unix://"):], "Podman socket")

    @field_validator("edge")
    @classmethod
    def _edge(cls, v: Optional[str]) -> Optional[str]:
        if v is None or not v.strip():
            return None
        if not re.match(r"^[0-9A-Za-z.:\[\]-]+:[0-9]{1,5}$", v):
            raise ValueError("edge must be HOST:PORT, e.g. 0.0.0.0:8443")
        return v

    @property
    def venv(self) -> str:
        return f"{self.prefix}/venv"

    @property
    def agent_bin(self) -> str:
        return f"{self.venv}/bin/basepod-agent"


class InstallManifest(BaseModel):
    """`PREFIX/install.json` on the server: what is installed and how it runs.

    Kept on the server (not in servers.json) so any desktop or `bp` can upgrade or
    diagnose an agent another machine installed.
    """

    prefix: str
    state_dir: str
    socket: str
    podman_url: Optional[str] = None
    edge: Optional[str] = None
    service: ServiceMode
    agent_version: str
    source_hash: str
    wheel_sha256: str

    def options(self, admin_email: str = "admin@localhost") -> InstallOptions:
        return InstallOptions(admin_email=admin_email, prefix=self.prefix, state_dir=self.state_dir,
                              socket=self.socket, podman_url=self.podman_url, edge=self.edge)


HostFacts.model_rebuild()


def resolve_options(facts: HostFacts, *, admin_email: str, prefix: Optional[str] = None,
                    state_dir: Optional[str] = None, socket: Optional[str] = None, **rest) -> InstallOptions:
    """Explicit values win, then what an earlier install recorded, then the host's defaults."""
    m = facts.manifest
    prefix = prefix or (m.prefix if m else facts.prefix)
    state_dir = state_dir or (m.state_dir if m and m.prefix == prefix else facts.state_dir)
    socket = socket or (m.socket if m and m.state_dir == state_dir else f"{state_dir.rstrip('/')}/agent.sock")
    if m and m.prefix == prefix:
        rest.setdefault("podman_url", m.podman_url)
        rest.setdefault("edge", m.edge)
    return InstallOptions(admin_email=admin_email, prefix=prefix, state_dir=state_dir, socket=socket, **rest)


class StepStatus(str, Enum):
    RUNNING = "running"
    OK = "ok"
    SKIPPED = "skipped"
    WARNING = "warning"
    FAILED = "failed"


@dataclass(frozen=True)
class StepUpdate:
    """A step started or ended; `message` says what was done, skipped or what failed."""

    step: str
    title: str
    status: StepStatus
    message: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class StepOutput:
    """One line a remote command printed during a step."""

    step: str
    line: str


StepEvent = StepUpdate | StepOutput


class StepFailed(Exception):
    """Raised by the event stream after its FAILED update: names the step and the fix."""

    def __init__(self, step: str, title: str, message: str):
        super().__init__(f"{title} failed: {message}")
        self.step, self.title, self.message = step, title, message


def human_bytes(n: Optional[int]) -> str:
    if n is None:
        return "unknown"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)
