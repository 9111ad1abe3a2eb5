"""Plain helpers for the tunnel tests (fixtures live in conftest.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from harness import SshServer

from basepod_desktop.core.profiles import ServerProfile

AGENT_BODY = b'{"agent": "stand-in"}'


def ssh_profile(server: SshServer, socket_path: str, **changes) -> ServerProfile:
    fields = dict(
        name="test",
        host=server.host,
        port=server.port,
        user=server.user,
        key_path=str(server.client_key),
        socket=socket_path,
    )
    fields.update(changes)
    return ServerProfile(**fields)


def keygen_fingerprint(pub_path: Path | str) -> str:
    out = subprocess.run(["ssh-keygen", "-lf", str(pub_path)], check=True, capture_output=True, text=True)
    return out.stdout.split()[1]
