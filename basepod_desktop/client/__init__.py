"""Typed async client for one Basepod agent, shared by the desktop app and ``bp``.

It speaks HTTP and WebSocket over a Unix socket: the agent's own socket for the local
agent, or the local end of an SSH tunnel for a remote one. It knows nothing of SSH or Qt.
"""

from basepod_desktop.client.agent import AgentClient
from basepod_desktop.client.errors import (
    AgentUnreachable,
    ApiError,
    AuthRequired,
    BadCredentials,
    ClientError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ProtocolMismatch,
)

__all__ = [
    "AgentClient",
    "AgentUnreachable",
    "ApiError",
    "AuthRequired",
    "BadCredentials",
    "ClientError",
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "ProtocolMismatch",
]
