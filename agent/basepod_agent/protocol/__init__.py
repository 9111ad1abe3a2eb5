"""The wire contract between the agent and its clients (desktop, bp, scripts).

Everything that crosses the wire is defined here; this package imports only pydantic so
the desktop can depend on it without pulling in the agent's server stack.
"""

from basepod_agent.protocol.apps import AppCreate, AppInfo, AppList, AppStatus, LogChunk, LogLine
from basepod_agent.protocol.auth import LoginRequest, LoginResponse, Role, UserInfo, WhoAmI
from basepod_agent.protocol.errors import ErrorBody, ErrorCode
from basepod_agent.protocol.events import (
    EVENT_ADAPTER,
    LOG_STREAM_ADAPTER,
    AppRemoved,
    AppStateChanged,
    Event,
    Hello,
    LogBatch,
    LogEnd,
    LogStreamMessage,
    StreamError,
)
from basepod_agent.protocol.meta import EdgeHealth, RuntimeInfo, VersionInfo
from basepod_agent.protocol.version import AGENT_VERSION, PROTOCOL_VERSION

__all__ = [
    "AGENT_VERSION",
    "EVENT_ADAPTER",
    "LOG_STREAM_ADAPTER",
    "PROTOCOL_VERSION",
    "AppCreate",
    "AppInfo",
    "AppList",
    "AppRemoved",
    "AppStateChanged",
    "AppStatus",
    "EdgeHealth",
    "ErrorBody",
    "ErrorCode",
    "Event",
    "Hello",
    "LogBatch",
    "LogChunk",
    "LogEnd",
    "LogLine",
    "LogStreamMessage",
    "LoginRequest",
    "LoginResponse",
    "Role",
    "RuntimeInfo",
    "StreamError",
    "UserInfo",
    "VersionInfo",
    "WhoAmI",
]
