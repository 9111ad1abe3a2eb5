"""Commands and file transfers on a server over plain SSH, before (or beside) any agent.

Only argv lists cross this boundary: every command is `shlex.join`-ed here, so a value
(a path, an e-mail) can never become shell syntax on the server. Scripts are fixed
strings kept in `core/onboarding_scripts.py`; their inputs travel as positional
arguments (`sh -c SCRIPT sh ARG...`), never pasted into the script text.
"""

from __future__ import annotations

import asyncio
import os
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Optional

import asyncssh

from ..core.profiles import ServerProfile
from .errors import TransportError
from .ssh import ConfirmHostKey, open_ssh_connection

LineSink = Callable[[str], None]
_TAIL_LINES = 40


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


class RemoteCommandFailed(TransportError):
    """A command ran on the server and exited non-zero; `output` is the tail of what it said."""

    def __init__(self, result: CommandResult, what: str = ""):
        lines = (result.stderr or result.stdout).strip().splitlines()[-_TAIL_LINES:]
        label = what or shlex.join(result.argv[:3]) + (" ..." if len(result.argv) > 3 else "")
        detail = lines[-1] if lines else "no output"
        super().__init__(f"{label} failed on the server (exit {result.exit_status}): {detail}")
        self.result = result
        self.output = "\n".join(lines)


class RemoteHost:
    """One SSH connection used for a sequence of commands and SFTP transfers."""

    def __init__(self, conn: asyncssh.SSHClientConnection, profile: ServerProfile):
        self.conn = conn
        self.profile = profile
        self._sftp: Optional[asyncssh.SFTPClient] = None

    @classmethod
    async def connect(
        cls,
        profile: ServerProfile,
        *,
        known_hosts_path: Optional[str | os.PathLike] = None,
        confirm_host_key: Optional[ConfirmHostKey] = None,
        connect_timeout: float = 10,
    ) -> "RemoteHost":
        conn = await open_ssh_connection(profile, known_hosts_path=known_hosts_path,
                                         confirm_host_key=confirm_host_key, connect_timeout=connect_timeout)
        return cls(conn, profile)

    async def aclose(self) -> None:
        if self._sftp is not None:
            sftp, self._sftp = self._sftp, None
            sftp.exit()
            await sftp.wait_closed()
        self.conn.close()
        await self.conn.wait_closed()

    async def run(
        self,
        argv: Sequence[str],
        *,
        stdin: Optional[str] = None,
        on_line: Optional[LineSink] = None,
        check: bool = True,
        timeout: float = 900,
        what: str = "",
    ) -> CommandResult:
        """Run `argv` (no shell interpretation of its items); stream lines to `on_line`.

        `stdin` is written then closed: it is how secrets reach a command without
        appearing in its argv (ps) or in any log.
        """
        argv = tuple(str(a) for a in argv)
        out: list[str] = []
        err: list[str] = []
        try:
            proc = await self.conn.create_process(shlex.join(argv), encoding="utf-8", errors="replace")
        except asyncssh.Error as exc:
            raise TransportError(f"Cannot run a command on {self.profile.host}: {exc.reason}") from exc
        try:
            if stdin is not None:
                proc.stdin.write(stdin)
            proc.stdin.write_eof()

            async def pump(stream, sink: list[str]) -> None:
                async for line in stream:
                    sink.append(line)
                    if on_line is not None:
                        on_line(line.rstrip("\n"))

            await asyncio.wait_for(asyncio.gather(pump(proc.stdout, out), pump(proc.stderr, err), proc.wait()),
                                   timeout)
        except asyncio.TimeoutError:
            raise TransportError(f"{what or argv[0]} did not finish within {timeout:g} s on the server.") from None
        finally:
            proc.close()
        status = proc.exit_status if proc.exit_status is not None else 255
        result = CommandResult(argv, status, "".join(out), "".join(err))
        if check and not result.ok:
            raise RemoteCommandFailed(result, what)
        return result

    async def script(self, script: str, *args: str, **kwargs) -> CommandResult:
        """Run a fixed POSIX sh script; `args` are its `$1`, `$2`, ... (quoted by `run`)."""
        return await self.run(["sh", "-c", script, "sh", *args], **kwargs)

    # -- files --------------------------------------------------------------------------

    async def sftp(self) -> asyncssh.SFTPClient:
        if self._sftp is None:
            try:
                self._sftp = await self.conn.start_sftp_client()
            except asyncssh.Error as exc:
                raise TransportError(
                    f"{self.profile.host} refused SFTP ({exc.reason}); enable it with "
                    "`Subsystem sftp internal-sftp` in its sshd_config."
                ) from exc
        return self._sftp

    async def upload(self, local: str | os.PathLike, remote: str, mode: int = 0o644) -> None:
        """Copy a file to `remote` atomically: readers never see half a file."""
        sftp = await self.sftp()
        tmp = f"{remote}.part"
        try:
            await sftp.put(os.fspath(local), tmp)
            await sftp.chmod(tmp, mode)
            await sftp.posix_rename(tmp, remote)
        except (asyncssh.SFTPError, OSError) as exc:
            raise TransportError(f"Cannot upload {remote} to {self.profile.host}: {exc}") from exc

    async def write_text(self, remote: str, text: str, mode: int = 0o644) -> None:
        sftp = await self.sftp()
        tmp = f"{remote}.part"
        try:
            async with sftp.open(tmp, "w", attrs=asyncssh.SFTPAttrs(permissions=mode)) as fh:
                await fh.write(text)
            await sftp.chmod(tmp, mode)
            await sftp.posix_rename(tmp, remote)
        except (asyncssh.SFTPError, OSError) as exc:
            raise TransportError(f"Cannot write {remote} on {self.profile.host}: {exc}") from exc

    async def read_text(self, remote: str) -> Optional[str]:
        """The file's text, or None when it does not exist."""
        sftp = await self.sftp()
        try:
            async with sftp.open(remote, "r") as fh:
                return await fh.read()
        except asyncssh.SFTPNoSuchFile:
            return None
        except (asyncssh.SFTPError, OSError) as exc:
            raise TransportError(f"Cannot read {remote} on {self.profile.host}: {exc}") from exc
