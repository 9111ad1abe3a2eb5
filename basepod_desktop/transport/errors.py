"""Everything that can go wrong between this computer and an agent, as one tree.

Callers catch `TransportError` and show `exc.message`; subclasses carry the facts a UI
needs to offer the right next step (trust a key, fix known_hosts, install the agent).
"""

from __future__ import annotations

from typing import Optional, Sequence


class TransportError(Exception):
    """Base class; `message` is a complete sentence for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class HostUnreachable(TransportError):
    """No SSH conversation happened: DNS failure, refused, timed out, network down."""

    def __init__(self, host: str, port: int, reason: str):
        super().__init__(f"Cannot reach {host}:{port}: {reason}.")
        self.host, self.port, self.reason = host, port, reason


class AuthenticationFailed(TransportError):
    """The server rejected every key we offered (or the key could not be loaded)."""

    def __init__(self, host: str, user: Optional[str], detail: str = ""):
        who = f"{user}@{host}" if user else host
        hint = (
            "Load your key into ssh-agent (`ssh-add`), set the key file in the server's "
            "settings, and check that its public key is in ~/.ssh/authorized_keys on the server."
        )
        super().__init__(f"SSH login to {who} was refused{': ' + detail if detail else ''}. {hint}")
        self.host, self.user, self.detail = host, user, detail


class HostKeyUnknown(TransportError):
    """First contact: the host key is not in known_hosts and nobody confirmed it."""

    def __init__(self, host: str, port: int, key_type: str, fingerprint: str):
        super().__init__(
            f"The host key of {host}:{port} is not known yet ({key_type} {fingerprint}). "
            "Compare the fingerprint with the server's (`ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub`) "
            "and accept it to continue."
        )
        self.host, self.port, self.key_type, self.fingerprint = host, port, key_type, fingerprint


class HostKeyRejected(TransportError):
    """The user was shown an unknown host key and declined it."""

    def __init__(self, host: str, port: int, fingerprint: str):
        super().__init__(f"Connection to {host}:{port} cancelled: host key {fingerprint} was not accepted.")
        self.host, self.port, self.fingerprint = host, port, fingerprint


class HostKeyChanged(TransportError):
    """known_hosts has a key for this host and the server offered a different one."""

    def __init__(
        self,
        host: str,
        port: int,
        key_type: str,
        offered: str,
        expected: Sequence[str],
        known_hosts_path: str,
    ):
        target = host if port == 22 else f"[{host}]:{port}"
        super().__init__(
            f"WARNING: the host key of {host}:{port} has changed! Someone could be intercepting "
            f"the connection (man-in-the-middle), or the server was reinstalled. Offered: "
            f"{key_type} {offered}; expected: {', '.join(expected) or 'a known key'}. Basepod did "
            f"not connect. After verifying the new fingerprint with the server's administrator, "
            f"remove the old entry with `ssh-keygen -R '{target}' -f {known_hosts_path}` and connect again."
        )
        self.host, self.port, self.key_type = host, port, key_type
        self.offered, self.expected = offered, list(expected)
        self.known_hosts_path = known_hosts_path


class TunnelClosed(TransportError):
    """The SSH connection carrying the tunnel is gone (or was never opened)."""

    def __init__(self, message: str = "The SSH connection to the server was closed."):
        super().__init__(message)


class RemoteSocketMissing(TransportError):
    """SSH works but the agent's Unix socket cannot be opened on the server."""

    def __init__(self, host: str, socket_path: str, detail: str = ""):
        super().__init__(
            f"Connected to {host}, but the Basepod agent socket {socket_path} could not be opened"
            f"{' (' + detail + ')' if detail else ''}. The agent is probably not installed or not "
            f"running (`systemctl status basepod-agent` on the server), or this SSH user may not "
            f"access the socket."
        )
        self.host, self.socket_path, self.detail = host, socket_path, detail


class LocalAgentNotRunning(TransportError):
    """The embedded "This computer" agent socket does not exist."""

    def __init__(self, socket_path: str):
        super().__init__(f"The local agent is not running at {socket_path}.")
        self.socket_path = socket_path
