"""Qt-free ways to reach an agent: SSH tunnels, the local socket, host keys, backoff."""

from .errors import (
    AuthenticationFailed,
    HostKeyChanged,
    HostKeyRejected,
    HostKeyUnknown,
    HostUnreachable,
    LocalAgentNotRunning,
    RemoteSocketMissing,
    TransportError,
    TunnelClosed,
)
from .hostkeys import HostKeyInfo, default_known_hosts_path, fingerprint_sha256
from .reconnect import Backoff
from .ssh import ConfirmHostKey, SshTunnel
from .target import AgentTarget, LocalTarget, TunnelTarget, open_target

__all__ = [
    "AgentTarget",
    "AuthenticationFailed",
    "Backoff",
    "ConfirmHostKey",
    "HostKeyChanged",
    "HostKeyInfo",
    "HostKeyRejected",
    "HostKeyUnknown",
    "HostUnreachable",
    "LocalAgentNotRunning",
    "LocalTarget",
    "RemoteSocketMissing",
    "SshTunnel",
    "TransportError",
    "TunnelClosed",
    "TunnelTarget",
    "default_known_hosts_path",
    "fingerprint_sha256",
    "open_target",
]
