"""Health-check models: per-app configuration, probe results, transitions, the report.

Bounds here are the ones every user gets (interval 1-3600 s). The agent may allow a
shorter interval (``health_min_interval`` in agent.toml) for tests; it checks that
lower limit itself, which is why the model's floor is just "positive".
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, Field, field_validator, model_validator

from basepod_agent.protocol.health_status import HealthStatus

_PATH_RE = re.compile(r"^/[\x21-\x7e]{0,1023}$")
MAX_INTERVAL = 3600.0
USER_MIN_INTERVAL = 1.0


class HealthConfig(BaseModel):
    enabled: bool = True
    path: str = "/health"
    interval_seconds: float = Field(10.0, gt=0, le=MAX_INTERVAL)
    timeout_seconds: float = Field(5.0, gt=0, le=120)
    failure_threshold: int = Field(3, ge=1, le=100)
    expected_status_min: int = Field(200, ge=100, le=599)
    expected_status_max: int = Field(399, ge=100, le=599)
    auto_restart: bool = True
    grace_seconds: float = Field(10.0, ge=0, le=3600, description="start-up time when failures do not count")
    max_restarts: int = Field(5, ge=1, le=100, description="crash-loop guard: restarts allowed in the window")
    restart_window_seconds: float = Field(600.0, gt=0, le=86400)

    @field_validator("path")
    @classmethod
    def _path(cls, path: str) -> str:
        if not _PATH_RE.match(path):
            raise ValueError("path must start with / and contain no spaces or control characters")
        return path

    @model_validator(mode="after")
    def _consistent(self) -> HealthConfig:
        if self.expected_status_min > self.expected_status_max:
            raise ValueError("expected_status_min must not exceed expected_status_max")
        if self.timeout_seconds > self.interval_seconds:
            raise ValueError("timeout_seconds must not exceed interval_seconds (probes would overlap)")
        return self


class HealthProbe(BaseModel):
    at: datetime
    ok: bool
    status_code: int | None = None
    latency_ms: float | None = None
    error: str | None = None


class HealthTransition(BaseModel):
    at: datetime
    status: HealthStatus
    previous: HealthStatus | None = None
    reason: str


class HealthReport(BaseModel):
    """``GET /api/apps/{name}/health``: config, verdict and the most recent results."""

    app: str
    config: HealthConfig
    monitored: bool
    status: HealthStatus | None = None
    reason: str | None = None
    consecutive_failures: int = 0
    recent_restarts: int = 0
    gave_up: bool = False
    recent: list[HealthProbe] = []
    transitions: list[HealthTransition] = []


class HealthHistory(BaseModel):
    app: str
    probes: list[HealthProbe]
    transitions: list[HealthTransition]
