"""Stopping the RUN step a cancelled build is in the middle of.

Closing the build request makes Podman 4.3 abandon the build at its next step, but the
step that is running goes on (an ``npm install`` or a ``sleep 600`` runs to the end),
and the REST API has no call to stop a build or to name its working container. What it
does let us choose is ``extrahosts``: each build adds a host name unique to it,
``basepod-build-<token>``, to the /etc/hosts of its RUN steps. Buildah writes that
file into the step's OCI bundle, the current directory of the ``buildah-oci-runtime``
process that supervises the step. So, on cancel, the agent finds the supervisors whose
bundle's hosts file names this build and SIGKILLs their children: each is the step's
PID 1, and the kernel then ends everything in the step's PID namespace. The step fails
with status 137, Podman drops the build (nothing is tagged, the working container is
removed), and no other build is touched.

This needs the agent to see Podman's processes in /proc (the same machine and user,
or root), and Buildah's OCI isolation (Podman's default). Where either is missing the
scan finds nothing and the old behaviour remains: the step finishes, then the build
stops. The extra host line exists only while RUN steps run; images never contain it.
"""

from __future__ import annotations

import os
import secrets
import signal
from pathlib import Path

STEP_SUPERVISOR = b"buildah-oci-runtime"
PROC = Path("/proc")


def new_build_marker() -> str:
    return f"basepod-build-{secrets.token_hex(8)}"


def marker_host(marker: str) -> str:
    """The ``extrahosts`` entry (``name:ip``) that labels a build's RUN steps."""
    return f"{marker}:127.0.0.1"


def kill_build_steps(marker: str) -> list[int]:
    """SIGKILL the running RUN step(s) of the build labelled ``marker``; return the pids."""
    children: dict[int, list[int]] = {}
    supervisors: list[int] = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
            if (entry / "cmdline").read_bytes().split(b"\0", 1)[0] == STEP_SUPERVISOR:
                supervisors.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not ours to read
    killed = []
    for pid in supervisors:
        try:
            hosts = (Path(os.readlink(PROC / str(pid) / "cwd")) / "hosts").read_text()
        except OSError:
            continue
        if marker not in hosts.split():
            continue
        for child in children.get(pid, []):
            try:
                os.kill(child, signal.SIGKILL)
                killed.append(child)
            except (ProcessLookupError, PermissionError):
                pass
    return killed
