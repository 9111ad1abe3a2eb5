"""The embedded "This computer" agent: started and stopped by the desktop app.

The user never sees a login for it: on first start the desktop initialises a state dir
with a random admin password, keeps that credential in the TokenStore (keyring, or the
0600 fallback file) and logs in with it. If an agent already answers on the socket (a
second window, or one left from a crash) it is reused and not stopped on exit.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import logging
import os
import secrets
import signal
import sys
from pathlib import Path
from typing import Optional

from basepod_desktop.client import AgentClient, ClientError
from basepod_desktop.core import paths
from basepod_desktop.core.credentials import TokenStore
from basepod_desktop.core.profiles import ServerProfile

log = logging.getLogger(__name__)

LOCAL_SERVER_NAME = "this-computer"
#: Not a valid profile name (it has a '#'), so it can never collide with a server's token.
CREDENTIAL_KEY = "local-agent#admin"
START_TIMEOUT = 40.0


class LocalAgentError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def agent_command(*args: str) -> list[str]:
    """How to run ``basepod_agent``: as a module, or through the frozen app's own binary."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "--run-agent", *args]
    return [sys.executable, "-m", "basepod_agent", *args]


class LocalAgent:
    def __init__(self, tokens: TokenStore, state_dir: Optional[Path] = None,
                 serve_args: tuple[str, ...] = ()) -> None:
        """``serve_args`` go to ``basepod_agent serve`` (e.g. ``--podman-url``)."""
        self.tokens = tokens
        self.serve_args = tuple(serve_args)
        self.state_dir = Path(state_dir) if state_dir else paths.data_dir() / "local-agent"
        self.socket_path = self.state_dir / "agent.sock"
        self.log_path = self.state_dir.parent / "local-agent.log"
        self._process: Optional[asyncio.subprocess.Process] = None

    @property
    def profile(self) -> ServerProfile:
        return ServerProfile.local(LOCAL_SERVER_NAME, self.socket_path)

    @property
    def owned(self) -> bool:
        return self._process is not None

    async def credentials(self) -> tuple[str, str]:
        raw = await asyncio.to_thread(self.tokens.get, CREDENTIAL_KEY)
        if not raw:
            raise LocalAgentError("The local agent's credential is missing from the keyring; "
                                  "restart Basepod to create a new one.")
        data = json.loads(raw)
        return data["email"], data["password"]

    async def ensure_running(self) -> None:
        if await self._answers():
            log.info("reusing the local agent already serving %s", self.socket_path)
            return
        await self._ensure_initialised()
        paths.ensure_private_dir(self.state_dir)
        logfile = open(self.log_path, "ab")
        try:
            self._process = await asyncio.create_subprocess_exec(
                *agent_command("serve", "--state-dir", str(self.state_dir), *self.serve_args),
                stdin=asyncio.subprocess.DEVNULL, stdout=logfile, stderr=logfile,
                start_new_session=True, preexec_fn=_die_with_parent,
            )
        finally:
            logfile.close()
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT
        while asyncio.get_running_loop().time() < deadline:
            if self._process.returncode is not None:
                self._process = None
                raise LocalAgentError(f"The local agent exited at start-up; see {self.log_path}:\n"
                                      f"{_tail(self.log_path)}")
            if await self._answers():
                return
            await asyncio.sleep(0.2)
        raise LocalAgentError(f"The local agent did not answer within {START_TIMEOUT:.0f} s; see {self.log_path}.")

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=10)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()

    async def _answers(self) -> bool:
        if not self.socket_path.exists():
            return False
        client = AgentClient(str(self.socket_path), timeout=3)
        try:
            await client.version()
            return True
        except ClientError:
            return False
        finally:
            await client.aclose()

    async def _ensure_initialised(self) -> None:
        """Create the admin credential once; a lost credential gets a fresh admin user."""
        existing = await asyncio.to_thread(self.tokens.get, CREDENTIAL_KEY)
        if existing and (self.state_dir / "agent.db").exists():
            return
        email = f"desktop-{secrets.token_hex(4)}@localhost"
        password = secrets.token_urlsafe(24)
        paths.ensure_private_dir(self.state_dir)
        env = {**os.environ, "BASEPOD_ADMIN_PASSWORD": password}
        process = await asyncio.create_subprocess_exec(
            *agent_command("init", "--state-dir", str(self.state_dir), "--admin-email", email),
            env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise LocalAgentError(f"Could not initialise the local agent: {output.decode(errors='replace')[-800:]}")
        await asyncio.to_thread(self.tokens.set, CREDENTIAL_KEY, json.dumps({"email": email, "password": password}))


PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: the agent gets SIGTERM (and stops its Podman service) if the desktop dies
    without stopping it (killed, crashed), instead of lingering as an orphan."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _tail(path: Path, size: int = 1500) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-size:].decode(errors="replace")
