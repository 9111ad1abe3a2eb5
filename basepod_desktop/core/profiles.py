"""Server profiles: how to reach each server's agent, stored in `servers.json`.

A profile holds only connection facts (host, port, user, key path, agent socket); secrets
live in `credentials.TokenStore`. `user`/`key_path` may be None on purpose: then the SSH
layer defers to ~/.ssh/config, ssh-agent and the default keys, like `ssh host` would.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Literal, Optional

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from . import paths

DEFAULT_REMOTE_SOCKET = "/var/lib/basepod/agent.sock"
SERVERS_FILE = "servers.json"
_FILE_VERSION = 1
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,63}$")


class ProfileError(Exception):
    """Base class for profile store problems; `str(exc)` is meant for the user."""


class ProfileNotFound(ProfileError):
    def __init__(self, name: str):
        super().__init__(f"No server named {name!r}. Use `bp server list` to see the configured servers.")
        self.name = name


class ProfileExists(ProfileError):
    def __init__(self, name: str):
        super().__init__(f"A server named {name!r} already exists. Pick another name or replace it.")
        self.name = name


class ProfileStoreCorrupt(ProfileError):
    """servers.json exists but cannot be read; we never overwrite it silently."""


class ServerProfile(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    kind: Literal["ssh", "local"] = "ssh"
    host: Optional[str] = None
    port: int = Field(default=22, ge=1, le=65535)
    user: Optional[str] = None
    key_path: Optional[str] = None
    socket: str = DEFAULT_REMOTE_SOCKET
    agent_prefix: Optional[str] = None  # where `bp server add --install` put the agent

    @field_validator("name")
    @classmethod
    def _check_name(cls, v: str) -> str:
        if not _NAME_RE.match(v):
            raise ValueError("server name must be 1-63 characters: letters, digits, '-' or '_'")
        return v

    @field_validator("host", "user", "key_path")
    @classmethod
    def _check_token(cls, v: Optional[str], info: ValidationInfo) -> Optional[str]:
        """Empty means "not set"; a leading '-' is refused so no value reads as an option."""
        if v is None:
            return None
        v = v.strip()
        if not v:
            return None
        if v.startswith("-"):
            raise ValueError("must not start with '-'")
        # Paths may contain spaces ("/Users/Jane Doe/.ssh/id"); names may not.
        if info.field_name != "key_path" and any(c.isspace() for c in v):
            raise ValueError("must not contain whitespace")
        return v

    @field_validator("socket")
    @classmethod
    def _check_socket(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError("agent socket must be an absolute path")
        return v

    @model_validator(mode="after")
    def _check_kind(self) -> "ServerProfile":
        if self.kind == "ssh" and not self.host:
            raise ValueError("an SSH server needs a host")
        return self

    @classmethod
    def local(cls, name: str = "local", socket: Optional[str | os.PathLike] = None) -> "ServerProfile":
        """Profile for the embedded "This computer" agent (no SSH)."""
        sock = os.fspath(socket) if socket is not None else str(paths.local_agent_socket())
        return cls(name=name, kind="local", socket=sock)

    @property
    def display_target(self) -> str:
        """`user@host:port` as a human would type it (for labels and messages)."""
        if self.kind == "local":
            return "this computer"
        who = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port != 22 else ""
        return f"{who}{self.host}{port}"


def validation_message(exc: ValidationError) -> str:
    """Turn a pydantic error into one readable line per field (for CLI and dialogs)."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "profile"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


class ProfileStore:
    """The list of servers plus which one is the default, in `<config_dir>/servers.json`.

    Every mutation re-reads the file first, so two processes (desktop and `bp`) do not
    lose each other's earlier writes; writes are atomic and 0600.
    """

    def __init__(self, config_dir: Optional[str | os.PathLike] = None):
        self.config_dir = Path(config_dir) if config_dir is not None else paths.config_dir()
        self.path = self.config_dir / SERVERS_FILE

    def _load(self) -> tuple[dict[str, ServerProfile], Optional[str]]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}, None
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or not isinstance(data.get("servers", []), list):
                raise ValueError("unexpected layout")
            servers = [ServerProfile.model_validate(item) for item in data.get("servers", [])]
        except (ValueError, ValidationError) as exc:
            raise ProfileStoreCorrupt(
                f"{self.path} is not a valid Basepod server list ({exc}). "
                "Fix or remove the file; it was left untouched."
            ) from exc
        default = data.get("default")
        return {p.name: p for p in servers}, default if isinstance(default, str) else None

    def _save(self, servers: dict[str, ServerProfile], default: Optional[str]) -> None:
        paths.ensure_private_dir(self.config_dir)
        payload = {
            "version": _FILE_VERSION,
            "default": default if default in servers else None,
            "servers": [p.model_dump() for p in servers.values()],
        }
        paths.write_private_file(self.path, (json.dumps(payload, indent=2) + "\n").encode())

    def list(self) -> list[ServerProfile]:
        return list(self._load()[0].values())

    def get(self, name: str) -> ServerProfile:
        servers, _ = self._load()
        try:
            return servers[name]
        except KeyError:
            raise ProfileNotFound(name) from None

    def add(self, profile: ServerProfile, replace: bool = False) -> None:
        servers, default = self._load()
        if profile.name in servers and not replace:
            raise ProfileExists(profile.name)
        servers[profile.name] = profile
        self._save(servers, default)

    def update(self, profile: ServerProfile) -> None:
        servers, default = self._load()
        if profile.name not in servers:
            raise ProfileNotFound(profile.name)
        servers[profile.name] = profile
        self._save(servers, default)

    def remove(self, name: str) -> None:
        servers, default = self._load()
        if name not in servers:
            raise ProfileNotFound(name)
        del servers[name]
        self._save(servers, None if default == name else default)

    def get_default(self) -> Optional[str]:
        """The default server's name, or None (also when it points at a removed server)."""
        servers, default = self._load()
        return default if default in servers else None

    def set_default(self, name: Optional[str]) -> None:
        servers, _ = self._load()
        if name is not None and name not in servers:
            raise ProfileNotFound(name)
        self._save(servers, name)
