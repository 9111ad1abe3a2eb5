"""Messages pushed over WebSockets: live log batches and server events.

Each message has a ``type`` so a client can parse a stream with one discriminated union.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Union

from pydantic import BaseModel, Field, TypeAdapter

from basepod_agent.protocol.apps import AppStatus, LogLine
from basepod_agent.protocol.errors import ErrorBody


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


class AppStateChanged(BaseModel):
    """``unexpected`` is true when the app stopped without anyone asking it to."""

    type: Literal["app_state"] = "app_state"
    app: str
    status: AppStatus
    exit_code: int | None = None
    unexpected: bool = False
    at: datetime


class AppRemoved(BaseModel):
    type: Literal["app_removed"] = "app_removed"
    app: str
    at: datetime


class Hello(BaseModel):
    """First message on the event stream, so a client knows it is live."""

    type: Literal["hello"] = "hello"
    agent_version: str
    protocol_version: int


Event = Annotated[Union[Hello, AppStateChanged, AppRemoved], Field(discriminator="type")]
EVENT_ADAPTER: TypeAdapter = TypeAdapter(Event)
