"""SSH tunnel from a private local Unix socket to the agent's socket on a server.

Host keys are checked by asyncssh against a trusted set that *we* compute from
known_hosts (a `known_hosts` callable); the `SSHClient.validate_host_public_key` hook
only records the offered key and always says no. So an unknown or changed key can never
slip through: an unknown key is trusted only on a second connection, after the user
confirmed exactly that key, and asyncssh still checks the server owns its private key.
(Passing `known_hosts=None` would *disable* validation in asyncssh, hook included.)
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Awaitable, Callable, Optional

import asyncssh

from ..core.profiles import ServerProfile
from . import hostkeys
from .errors import (
    AuthenticationFailed,
    HostKeyChanged,
    HostKeyRejected,
    HostKeyUnknown,
    HostUnreachable,
    RemoteSocketMissing,
    TransportError,
    TunnelClosed,
)
from .hostkeys import HostKeyInfo

log = logging.getLogger(__name__)

ConfirmHostKey = Callable[[HostKeyInfo], Awaitable[bool]]
KEEPALIVE_INTERVAL = 15  # seconds; 3 missed replies => the tunnel counts as dropped


class _HostKeyCheck:
    """One connection attempt's view of known_hosts, and the key the server offered.

    Passed to asyncssh as the `known_hosts` callable. It must stay truthy (no __len__):
    asyncssh swaps a falsy value for ~/.ssh/known_hosts.
    """

    def __init__(self, known_hosts_path: Path):
        self.path = known_hosts_path
        self.host = ""
        self.port = 22
        self.match = hostkeys.KnownHostsMatch()
        self.offered: Optional[asyncssh.SSHKey] = None
        self.error: Optional[OSError] = None

    def __call__(self, host: str, addr: str, port: Optional[int]) -> tuple:
        # Called by asyncssh with the name it really uses (HostName/HostKeyAlias applied).
        self.host, self.port = host, port or 22
        try:
            self.match = hostkeys.lookup(self.path, host, addr, port)
        except OSError as exc:  # unreadable file: trust nothing, report after the attempt
            self.error = exc
            self.match = hostkeys.KnownHostsMatch()
        return self.match.as_asyncssh()


class _Client(asyncssh.SSHClient):
    def __init__(self, check: _HostKeyCheck):
        self._check = check

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self._check.offered = key
        return False


class SshTunnel:
    """Forward `<private tmp dir>/agent.sock` to `profile.socket` on the server.

    `open()` may be called again after the connection dropped: it reconnects and keeps
    the same local path, so an HTTP client built on that path keeps working.
    """

    def __init__(
        self,
        profile: ServerProfile,
        *,
        known_hosts_path: Optional[str | os.PathLike] = None,
        confirm_host_key: Optional[ConfirmHostKey] = None,
        connect_timeout: float = 10,
    ):
        if profile.kind != "ssh" or not profile.host:
            raise TransportError(f"Server {profile.name!r} is not an SSH server.")
        self.profile = profile
        self.known_hosts_path = Path(known_hosts_path) if known_hosts_path else hostkeys.default_known_hosts_path()
        self.confirm_host_key = confirm_host_key
        self.connect_timeout = connect_timeout
        self._conn: Optional[asyncssh.SSHClientConnection] = None
        self._listener: Optional[asyncssh.SSHListener] = None
        self._tmpdir: Optional[str] = None

    @property
    def socket_path(self) -> Optional[str]:
        return os.path.join(self._tmpdir, "agent.sock") if self._tmpdir else None

    @property
    def is_alive(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def open(self) -> str:
        if self.is_alive and self.socket_path:
            return self.socket_path
        self._drop_connection()
        conn = await self._connect()
        try:
            await self._probe_remote_socket(conn)
            path = self._prepare_local_path()
            self._listener = await conn.forward_local_path(path, self.profile.socket)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return path

    async def wait_closed(self) -> None:
        """Return once the SSH connection is gone (dropped by the network/server or closed)."""
        if self._conn is not None:
            await self._conn.wait_closed()

    async def aclose(self) -> None:
        conn = self._conn
        self.close()
        if conn is not None:
            await conn.wait_closed()

    def close(self) -> None:
        self._drop_connection()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    # -- internals --------------------------------------------------------------------

    def _drop_connection(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _prepare_local_path(self) -> str:
        if not self._tmpdir or not os.path.isdir(self._tmpdir):
            self._tmpdir = tempfile.mkdtemp(prefix="basepod-")
        os.chmod(self._tmpdir, 0o700)  # mkdtemp does this; being explicit is the point
        path = os.path.join(self._tmpdir, "agent.sock")
        try:
            os.unlink(path)  # stale socket from a dropped connection
        except FileNotFoundError:
            pass
        return path

    async def _connect(self) -> asyncssh.SSHClientConnection:
        check = _HostKeyCheck(self.known_hosts_path)
        try:
            return await self._connect_once(check)
        except asyncssh.HostKeyNotVerifiable:
            pass
        except asyncssh.KeyExchangeFailed as exc:
            if not check.match.host_keys:
                raise self._ssh_error(exc) from None
            # Only algorithms of known keys are offered; failing here means the server
            # no longer has a key of that type: treat as a changed key, like ssh does.
            raise self._changed(check, "a key of a different type") from None

        if check.error is not None:
            raise TransportError(f"Cannot read {self.known_hosts_path}: {check.error.strerror or check.error}.")
        if check.offered is None:  # revoked key, untrusted host certificate, ...
            raise TransportError(
                f"The host key of {check.host}:{check.port} was refused (revoked, or a host "
                f"certificate that no trusted CA in {self.known_hosts_path} signed)."
            )
        if check.match.is_known:
            raise self._changed(check)

        info = hostkeys.describe(check.host, check.port, check.offered, self.known_hosts_path)
        if self.confirm_host_key is None:
            raise HostKeyUnknown(info.host, info.port, info.key_type, info.fingerprint)
        if not await self.confirm_host_key(info):
            raise HostKeyRejected(info.host, info.port, info.fingerprint)
        try:
            hostkeys.append_known_host(self.known_hosts_path, check.host, check.port, check.offered)
        except OSError as exc:
            raise TransportError(f"Cannot save the host key to {self.known_hosts_path}: {exc.strerror or exc}.") from exc
        log.info("added %s %s for %s:%s to %s", info.key_type, info.fingerprint, info.host, info.port, self.known_hosts_path)

        retry = _HostKeyCheck(self.known_hosts_path)
        try:
            return await self._connect_once(retry)
        except asyncssh.HostKeyNotVerifiable:
            # The server presented another key than the one just confirmed.
            raise self._changed(retry) from None

    async def _connect_once(self, check: _HostKeyCheck) -> asyncssh.SSHClientConnection:
        p = self.profile
        kwargs: dict = {
            "known_hosts": check,
            "client_factory": lambda: _Client(check),
            "connect_timeout": self.connect_timeout,
            "keepalive_interval": KEEPALIVE_INTERVAL,
            "keepalive_count_max": 3,
        }
        if p.port != 22:  # 22 means "default": ~/.ssh/config may name another Port
            kwargs["port"] = p.port
        if p.user:
            kwargs["username"] = p.user
        if p.key_path:
            key_path = os.path.expanduser(p.key_path)
            if not os.path.isfile(key_path):
                raise AuthenticationFailed(p.host, p.user, f"key file {key_path} does not exist")
            kwargs["client_keys"] = [key_path]
        try:
            return await asyncssh.connect(p.host, **kwargs)
        except (asyncssh.HostKeyNotVerifiable, asyncssh.KeyExchangeFailed):
            raise
        except Exception as exc:
            mapped = self._map_error(exc)
            if mapped is None:
                raise
            raise mapped from exc

    def _changed(self, check: _HostKeyCheck, offered_desc: Optional[str] = None) -> HostKeyChanged:
        key = check.offered
        return HostKeyChanged(
            host=check.host or str(self.profile.host),
            port=check.port,
            key_type=hostkeys.key_type(key) if key else "",
            offered=hostkeys.fingerprint_sha256(key) if key else (offered_desc or "unknown"),
            expected=hostkeys.fingerprints(check.match.host_keys),
            known_hosts_path=str(self.known_hosts_path),
        )

    def _map_error(self, exc: BaseException) -> Optional[TransportError]:
        host, port = str(self.profile.host), self.profile.port
        if isinstance(exc, asyncssh.PermissionDenied):
            return AuthenticationFailed(host, self.profile.user, exc.reason or "no key was accepted")
        if isinstance(exc, asyncssh.KeyImportError):
            return AuthenticationFailed(
                host, self.profile.user,
                f"cannot load the key file ({exc}); if it is passphrase-protected, add it to ssh-agent",
            )
        if isinstance(exc, asyncssh.ConfigParseError):
            return TransportError(f"Cannot read your SSH config: {exc}")
        if isinstance(exc, asyncssh.DisconnectError):
            return self._ssh_error(exc)
        if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
            return HostUnreachable(host, port, f"no answer within {self.connect_timeout:g} seconds")
        if isinstance(exc, socket.gaierror):
            return HostUnreachable(host, port, f"the name could not be resolved ({exc.strerror})")
        if isinstance(exc, ConnectionRefusedError):
            return HostUnreachable(host, port, "connection refused (is sshd running and is the port right?)")
        if isinstance(exc, OSError):
            return HostUnreachable(host, port, exc.strerror or str(exc))
        return None

    def _ssh_error(self, exc: asyncssh.DisconnectError) -> TransportError:
        if isinstance(exc, asyncssh.ConnectionLost):
            return TunnelClosed(f"{self.profile.host} closed the SSH connection during login ({exc.reason}).")
        return TransportError(f"SSH connection to {self.profile.host} failed: {exc.reason}")

    async def _probe_remote_socket(self, conn: asyncssh.SSHClientConnection) -> None:
        """Open (and close) one channel to the agent socket so a missing agent is reported
        now, with a clear message, instead of as an obscure HTTP error later."""
        try:
            chan, _ = await conn.create_unix_connection(asyncssh.SSHUNIXSession, self.profile.socket)
        except asyncssh.ChannelOpenError as exc:
            if exc.code == asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED:
                raise TransportError(
                    f"{self.profile.host} does not allow Unix socket forwarding; set "
                    "`AllowStreamLocalForwarding yes` in its sshd_config."
                ) from None
            raise RemoteSocketMissing(str(self.profile.host), self.profile.socket, exc.reason) from None
        except asyncssh.DisconnectError as exc:
            raise self._ssh_error(exc) from None
        chan.close()
        await chan.wait_closed()


async def open_ssh_connection(
    profile: ServerProfile,
    *,
    known_hosts_path: Optional[str | os.PathLike] = None,
    confirm_host_key: Optional[ConfirmHostKey] = None,
    connect_timeout: float = 10,
) -> asyncssh.SSHClientConnection:
    """A plain SSH connection under the tunnel's host-key policy and error mapping.

    The installer needs SSH before any agent socket exists, so it cannot use `SshTunnel.open`
    (which probes the socket); it must not get a laxer host-key check either.
    """
    tunnel = SshTunnel(profile, known_hosts_path=known_hosts_path, confirm_host_key=confirm_host_key,
                       connect_timeout=connect_timeout)
    return await tunnel._connect()
