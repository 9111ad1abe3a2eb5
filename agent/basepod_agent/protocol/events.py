"""Messages pushed over WebSockets: live log batches and server events.

Each message has a ``type`` so a client can parse a stream with one discriminated union.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Union

from pydantic import BaseModel, Field, TypeAdapter

from basepod_agent.protocol.apps import AppStatus, LogLine
from basepod_agent.protocol.deploys import BuildEnd, BuildLogChunk, DeployStatus
from basepod_agent.protocol.errors import ErrorBody
from basepod_agent.protocol.health_status import HealthStatus
from basepod_agent.protocol.webhooks import WebhookDelivery
from basepod_agent.protocol.metrics import AlertMetric, AlertState, AppSample


class LogBatch(BaseModel):
    """Lines are batched so a noisy app costs one message per tick, not one per line."""

    type: Literal["log_batch"] = "log_batch"
    lines: list[LogLine]


class LogEnd(BaseModel):
    type: Literal["log_end"] = "log_end"
    reason: str


class StreamError(BaseModel):
    type: Literal["error"] = "error"
    error: ErrorBody


LogStreamMessage = Annotated[Union[LogBatch, LogEnd, StreamError], Field(discriminator="type")]
LOG_STREAM_ADAPTER: TypeAdapter = TypeAdapter(LogStreamMessage)

BuildStreamMessage = Annotated[Union[BuildLogChunk, BuildEnd, StreamError], Field(discriminator="type")]
BUILD_STREAM_ADAPTER: TypeAdapter = TypeAdapter(BuildStreamMessage)


class AppStateChanged(BaseModel):
    """``unexpected`` is true when the app stopped without anyone asking it to."""

    type: Literal["app_state"] = "app_state"
    app: str
    status: AppStatus
    exit_code: int | None = None
    unexpected: bool = False
    at: datetime
    oom_killed: bool = Field(False, description="killed for exceeding its memory cap")


class AppRemoved(BaseModel):
    type: Literal["app_removed"] = "app_removed"
    app: str
    at: datetime


class HealthChanged(BaseModel):
    """The health verdict of an app changed; a ``red`` one deserves a notification."""

    type: Literal["health"] = "health"
    app: str
    status: HealthStatus | None
    previous: HealthStatus | None = None
    reason: str
    at: datetime


class EnvChanged(BaseModel):
    """Env keys changed (never values); ``restart_needed`` until the app is applied."""

    type: Literal["env_changed"] = "env_changed"
    app: str
    revision: int
    restart_needed: bool
    at: datetime


class DeployChanged(BaseModel):
    """A deploy moved to another status; a finished one (success, failed...) deserves a notification."""

    type: Literal["deploy"] = "deploy"
    app: str
    id: str
    status: DeployStatus
    at: datetime


class Hello(BaseModel):
    """First message on the event stream, so a client knows it is live."""

    type: Literal["hello"] = "hello"
    agent_version: str
    protocol_version: int


class WebhookDelivered(BaseModel):
    """A webhook delivery was recorded (deployed, ignored or rejected): the Webhook tab refreshes."""

    type: Literal["webhook_delivery"] = "webhook_delivery"
    app: str
    delivery: WebhookDelivery


class MetricsTick(BaseModel):
    """Every running app's usage at one collector tick, in one message."""

    type: Literal["metrics"] = "metrics"
    at: datetime
    interval_seconds: float
    samples: list[AppSample]


class MetricsAlert(BaseModel):
    """CPU or memory crossed an alert threshold for long enough (``fired``) or came back (``cleared``)."""

    type: Literal["metrics_alert"] = "metrics_alert"
    app: str
    metric: AlertMetric
    state: AlertState
    value: float
    threshold: float
    message: str
    at: datetime


Event = Annotated[
    Union[Hello, AppStateChanged, AppRemoved, HealthChanged, EnvChanged, DeployChanged,
          WebhookDelivered, MetricsTick, MetricsAlert], Field(discriminator="type")
]
EVENT_ADAPTER: TypeAdapter = TypeAdapter(Event)
