"""App models: what a client sends to create an app and what it gets back."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from pydantic import BaseModel, Field, field_validator

from basepod_agent.protocol import validation as v
from basepod_agent.protocol.health_status import HealthStatus


class AppStatus(str, Enum):
    """Observed state of an app's container, reconciled with what the user asked for.

    ``stopped`` means the user stopped it; ``exited`` means it stopped on its own while
    it was meant to run (a crash), and carries an exit code; ``missing`` means the
    container vanished from Podman (removed by hand) and can be recreated by a start.
    """

    CREATED = "created"
    RUNNING = "running"
    STOPPED = "stopped"
    EXITED = "exited"
    PAUSED = "paused"
    MISSING = "missing"
    UNKNOWN = "unknown"


def _check_env(env: dict[str, str] | None) -> dict[str, str] | None:
    if env is not None and (problem := v.env_problem(env)):
        raise ValueError(problem)
    return env


class AppCreate(BaseModel):
    name: str
    image: str
    port: int = Field(description="port the app listens on inside the container")
    command: list[str] | None = None
    env: dict[str, str] | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        problem = v.app_name_problem(name)
        if problem:
            raise ValueError(problem)
        return name

    @field_validator("image")
    @classmethod
    def _image(cls, image: str) -> str:
        problem = v.image_problem(image)
        if problem:
            raise ValueError(problem)
        return image

    @field_validator("port")
    @classmethod
    def _port(cls, port: int) -> int:
        if not 1 <= port <= 65535:
            raise ValueError(f"port {port} is outside 1-65535")
        return port

    @field_validator("command")
    @classmethod
    def _command(cls, command: list[str] | None) -> list[str] | None:
        if command is None:
            return None
        if not command or len(command) > v.MAX_COMMAND_ARGS:
            raise ValueError(f"command must have 1 to {v.MAX_COMMAND_ARGS} arguments")
        if any(len(arg) > v.MAX_COMMAND_ARG_LEN or "\x00" in arg for arg in command):
            raise ValueError("command arguments must be short text without NUL bytes")
        return command

    @field_validator("env")
    @classmethod
    def _env(cls, env: dict[str, str] | None) -> dict[str, str] | None:
        return _check_env(env)


class AppLimits(BaseModel):
    """The CPU and memory caps in force on an app's container; None means uncapped."""

    cpus: float | None = Field(None, description="CPU cores the container may use, e.g. 0.5")
    memory_bytes: int | None = Field(None, description="memory cap in bytes")


class AppInfo(BaseModel):
    """An app as every client sees it. Env values are never part of it."""

    name: str
    image: str
    port: int
    host_port: int
    command: list[str] | None
    status: AppStatus
    exit_code: int | None = None
    env_keys: list[str] = []
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    url: str | None = None
    container_id: str | None = None
    restart_needed: bool = Field(
        False, description="env changed since the container was created; apply to recreate it")
    health: HealthStatus | None = Field(
        None, description="health-check verdict; None when the app is not monitored")
    limits: AppLimits = Field(default_factory=AppLimits, description="resource caps in force")
    oom_killed: bool = Field(
        False, description="the container was killed for exceeding its memory cap (exited, code 137)")


class AppList(BaseModel):
    apps: list[AppInfo]


class LogLine(BaseModel):
    ts: str | None = None
    text: str


class LogChunk(BaseModel):
    app: str
    lines: list[LogLine]
