"""The wire contract between the agent and its clients (desktop, bp, scripts).

Everything that crosses the wire is defined here; this package imports only pydantic so
the desktop can depend on it without pulling in the agent's server stack.
"""

from basepod_agent.protocol.apps import AppCreate, AppInfo, AppLimits, AppList, AppStatus, LogChunk, LogLine
from basepod_agent.protocol.auth import LoginRequest, LoginResponse, Role, UserInfo, WhoAmI
from basepod_agent.protocol.deploys import (
    BUILD_LOG_ADAPTER,
    BuildEnd,
    BuildLogChunk,
    BuildLogMessage,
    DeployCreated,
    DeployImageRequest,
    DeployInfo,
    DeployList,
    DeployLog,
    DeployRequest,
    GeneratedDockerfile,
    DeployStatus,
    GitSource,
    ImageSource,
    SourceInfo,
)
from basepod_agent.protocol.dotenv import DotenvError, parse_dotenv
from basepod_agent.protocol.env import EnvPatch, EnvReplace, EnvState, EnvView
from basepod_agent.protocol.errors import ErrorBody, ErrorCode
from basepod_agent.protocol.events import (
    BUILD_STREAM_ADAPTER,
    EVENT_ADAPTER,
    LOG_STREAM_ADAPTER,
    AppRemoved,
    BuildStreamMessage,
    AppStateChanged,
    DeployChanged,
    EnvChanged,
    Event,
    HealthChanged,
    Hello,
    LogBatch,
    LogEnd,
    LogStreamMessage,
    StreamError,
)
from basepod_agent.protocol.health import (
    HealthConfig,
    HealthHistory,
    HealthProbe,
    HealthReport,
    HealthTransition,
)
from basepod_agent.protocol.health_status import HealthStatus
from basepod_agent.protocol.meta import EdgeHealth, RuntimeInfo, VersionInfo
from basepod_agent.protocol.version import AGENT_VERSION, PROTOCOL_VERSION

__all__ = [
    "BUILD_LOG_ADAPTER",
    "BUILD_STREAM_ADAPTER",
    "BuildStreamMessage",
    "BuildEnd",
    "BuildLogChunk",
    "BuildLogMessage",
    "DeployChanged",
    "DeployCreated",
    "DeployImageRequest",
    "DeployInfo",
    "DeployList",
    "DeployLog",
    "GeneratedDockerfile",
    "DeployRequest",
    "DeployStatus",
    "GitSource",
    "ImageSource",
    "SourceInfo",
    "AGENT_VERSION",
    "EVENT_ADAPTER",
    "LOG_STREAM_ADAPTER",
    "PROTOCOL_VERSION",
    "AppCreate",
    "AppLimits",
    "AppInfo",
    "AppList",
    "AppRemoved",
    "AppStateChanged",
    "AppStatus",
    "DotenvError",
    "EdgeHealth",
    "EnvChanged",
    "EnvPatch",
    "EnvReplace",
    "EnvState",
    "EnvView",
    "ErrorBody",
    "ErrorCode",
    "Event",
    "HealthChanged",
    "HealthConfig",
    "HealthHistory",
    "HealthProbe",
    "HealthReport",
    "HealthStatus",
    "HealthTransition",
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
    "parse_dotenv",
]
