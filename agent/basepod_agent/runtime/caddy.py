"""Caddy, the reverse proxy in front of every app: its admin API, and the agent's own
Caddy process when no other one is configured.

The agent's own Caddy keeps its admin API on a Unix socket in the state dir (nothing to
pick, nothing reachable from the network) and its certificates and autosaved config under
``<state>/caddy/``. It is the agent's child: it stops with the agent, and the agent starts
it again (and re-applies the routes) when it finds it gone.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import httpx

ADMIN_SOCKET = "admin.sock"


class CaddyError(Exception):
    """Caddy refused a config or its admin API did not answer."""


class CaddyAdmin:
    """The admin API at ``unix//PATH``, ``HOST:PORT`` or ``http://HOST:PORT``."""

    def __init__(self, address: str) -> None:
        self.address = address
        if address.startswith("unix/"):
            path = address[len("unix/"):]
            self._http = httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(uds=path),
                                           base_url="http://localhost", timeout=10)
            self._headers = {"Host": ""}  # Caddy allows only an empty Host on a Unix socket
        else:
            base = address if "://" in address else f"http://{address}"
            self._http = httpx.AsyncClient(base_url=base, timeout=10)
            self._headers = {}

    async def _send(self, method: str, path: str, body=None) -> httpx.Response:
        try:
            response = await self._http.request(method, path, json=body, headers=self._headers)
        except httpx.HTTPError as exc:
            raise CaddyError(f"Caddy admin API at {self.address} is not reachable: {exc}") from exc
        if response.status_code >= 400:
            try:
                detail = response.json().get("error", response.text)
            except ValueError:
                detail = response.text
            raise CaddyError(f"Caddy refused {method} {path}: {str(detail).strip()[:500]}")
        return response

    async def config(self) -> dict:
        response = await self._send("GET", "/config/")
        return response.json() or {}

    async def load(self, config: dict) -> None:
        """Replace the whole config; Caddy keeps its listeners, so no request is refused."""
        await self._send("POST", "/load", config)

    async def alive(self) -> bool:
        try:
            await self._send("GET", "/config/admin")
        except CaddyError:
            return False
        return True

    async def aclose(self) -> None:
        await self._http.aclose()


class CaddyProcess:
    """``caddy run`` with a bootstrap config that only sets the admin socket."""

    def __init__(self, binary: str, root: Path) -> None:
        self.binary, self.root = binary, root
        self.socket = root / ADMIN_SOCKET
        self.admin_address = f"unix/{self.socket}"
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc and self._proc.returncode is None else None

    def bootstrap(self) -> dict:
        return {"admin": {"listen": self.admin_address}}

    async def start(self, admin: CaddyAdmin, timeout: float = 15.0) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        config = self.root / "bootstrap.json"
        config.write_text(json.dumps(self.bootstrap()))
        self.socket.unlink(missing_ok=True)
        env = {**os.environ, "XDG_DATA_HOME": str(self.root / "data"),
               "XDG_CONFIG_HOME": str(self.root / "config"), "HOME": str(self.root)}
        with open(self.root / "caddy.log", "ab") as log:
            try:
                self._proc = await asyncio.create_subprocess_exec(
                    self.binary, "run", "--config", str(config), env=env,
                    stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log)
            except OSError as exc:
                raise CaddyError(f"could not run {self.binary}: {exc}") from exc
        (self.root / "caddy.pid").write_text(str(self._proc.pid))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await admin.alive():
            if self._proc.returncode is not None:
                raise CaddyError(f"caddy exited with {self._proc.returncode}; see {self.root / 'caddy.log'}")
            if loop.time() > deadline:
                raise CaddyError(f"caddy did not open its admin API within {timeout:g} s")
            await asyncio.sleep(0.05)

    def exited(self) -> bool:
        return self._proc is None or self._proc.returncode is not None

    async def stop(self) -> None:
        if self._proc is None or self._proc.returncode is not None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self._proc.wait(), 10)
        except TimeoutError:
            self._proc.kill()
            await self._proc.wait()
