"""Agent identity and liveness models."""

from __future__ import annotations

from pydantic import BaseModel


class VersionInfo(BaseModel):
    agent_version: str
    protocol_version: int


class EdgeHealth(BaseModel):
    status: str = "ok"


class RuntimeInfo(BaseModel):
    """What ``bp status`` shows about the server side."""

    agent_version: str
    protocol_version: int
    podman_version: str | None
    podman_reachable: bool
    apps_total: int
    apps_running: int
    uptime_seconds: float
