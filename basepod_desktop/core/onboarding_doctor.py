"""`bp server doctor` and the desktop's Diagnostics panel: what is wrong, and the fix.

Each check is independent where it can be (a stopped agent still lets us report disk
and clock), and each failure carries one sentence a person can act on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal, Optional

from basepod_agent.protocol import AGENT_VERSION, PROTOCOL_VERSION
from basepod_desktop.client import ClientError, ProtocolMismatch
from basepod_desktop.transport import (
    AuthenticationFailed, HostKeyChanged, HostKeyUnknown, HostUnreachable, RemoteSocketMissing, TransportError,
)
from basepod_desktop.transport.remote import RemoteHost

from . import agent_wheel
from . import session as session_mod
from .credentials import TokenStore
from .onboarding import compare_versions, inspect_host
from .onboarding_model import LOW_DISK_BYTES, MIN_DISK_BYTES, HostFacts, human_bytes
from .profiles import ServerProfile

CheckStatus = Literal["ok", "warn", "fail", "skip"]
SKEW_WARN = 5
SKEW_FAIL = 60
LOW_MEMORY = 256 << 20


@dataclass(frozen=True)
class Check:
    name: str
    title: str
    status: CheckStatus
    detail: str
    fix: str = ""


def _ssh_fix(exc: TransportError) -> str:
    if isinstance(exc, HostUnreachable):
        return "Check the host name and SSH port, and that the server is up with sshd running."
    if isinstance(exc, AuthenticationFailed):
        return "Add your public key to ~/.ssh/authorized_keys on the server, or pick the right key file."
    if isinstance(exc, HostKeyUnknown):
        return "Connect once (bp server inspect NAME, or the desktop) and confirm the host key fingerprint."
    if isinstance(exc, HostKeyChanged):
        return "Verify the new host key with the server's administrator, then remove the old known_hosts entry."
    return "Check that you can `ssh` to the server from this computer."


def _local_source_hash() -> Optional[str]:
    source = agent_wheel.agent_source_dir()
    return agent_wheel.source_hash(source) if source else None


async def diagnose(profile: ServerProfile, tokens: Optional[TokenStore] = None, **tunnel_kwargs) -> list[Check]:
    checks: list[Check] = []
    name = profile.name
    started = time.monotonic()
    try:
        remote = await RemoteHost.connect(profile, **tunnel_kwargs)
    except TransportError as exc:
        checks.append(Check("ssh", "SSH", "fail", exc.message, _ssh_fix(exc)))
        return checks + [Check(n, t, "skip", "needs SSH") for n, t in _LATER]
    try:
        checks.append(Check("ssh", "SSH", "ok", f"reached {profile.display_target} in "
                            f"{(time.monotonic() - started) * 1000:.0f} ms"))
        before = time.time()
        facts = await inspect_host(remote, profile.agent_prefix)
        local_now = (before + time.time()) / 2
    finally:
        await remote.aclose()
    checks.append(_installed(facts, name))
    checks += await _agent(profile, tokens, facts, name, tunnel_kwargs)
    checks.append(_disk(facts))
    checks.append(_memory(facts))
    checks.append(_clock(facts, local_now))
    return checks


_LATER = [("installed", "Agent installed"), ("running", "Agent running"), ("protocol", "Protocol version"),
          ("podman", "Podman socket"), ("disk", "Disk space"), ("memory", "Memory"), ("clock", "Clock skew")]


def _installed(facts: HostFacts, name: str) -> Check:
    if not facts.installed_version:
        return Check("installed", "Agent installed", "warn" if not facts.manifest else "fail",
                     f"no Basepod-installed agent in {facts.prefix}",
                     f"Install it: `bp server add {name} --host HOST --install --replace`, or Add server > "
                     "Install the agent in the desktop.")
    source = _local_source_hash()
    newer = compare_versions(facts.installed_version, AGENT_VERSION)
    stale_build = newer == 0 and facts.manifest and source and facts.manifest.source_hash != source
    if newer < 0 or stale_build:
        return Check("installed", "Agent installed", "warn",
                     f"agent {facts.installed_version} in {facts.prefix}; this Basepod has {AGENT_VERSION}"
                     + (" (another build)" if stale_build else ""),
                     f"Upgrade it: `bp server upgrade {name}` or Upgrade agent in the desktop.")
    return Check("installed", "Agent installed", "ok", f"agent {facts.installed_version} in {facts.prefix}")


async def _agent(profile: ServerProfile, tokens: Optional[TokenStore], facts: HostFacts, name: str,
                 tunnel_kwargs: dict) -> list[Check]:
    mode = facts.manifest.service if facts.manifest else facts.service_mode
    start_fix = ("Start it: `systemctl start basepod-agent` on the server" if mode == "systemd-system"
                 else "Start it: `systemctl --user start basepod-agent` on the server" if mode == "systemd-user"
                 else f"Start it again: `bp server upgrade {name} --force` (no systemd: it does not survive reboots)")
    try:
        session = await session_mod.connect(profile, tokens, **tunnel_kwargs)
    except ProtocolMismatch as exc:
        fix = (f"Upgrade the agent: `bp server upgrade {name}`." if exc.agent_protocol < exc.client_protocol
               else "Upgrade this desktop / bp to the agent's version.")
        return [Check("running", "Agent running", "ok", f"agent {exc.agent_version} answers on {profile.socket}"),
                Check("protocol", "Protocol version", "fail", exc.message, fix),
                Check("podman", "Podman socket", "skip", "needs a matching protocol")]
    except RemoteSocketMissing as exc:
        return [Check("running", "Agent running", "fail", exc.message, start_fix + "."),
                Check("protocol", "Protocol version", "skip", "needs a running agent"),
                _podman_offline(facts)]
    except (TransportError, ClientError) as exc:
        return [Check("running", "Agent running", "fail", getattr(exc, "message", str(exc)), start_fix + "."),
                Check("protocol", "Protocol version", "skip", "needs a running agent"),
                _podman_offline(facts)]
    try:
        v = session.version
        checks = [Check("running", "Agent running", "ok", f"agent {v.agent_version} answers on {profile.socket}"),
                  Check("protocol", "Protocol version", "ok", f"protocol {v.protocol_version} (this Basepod: "
                        f"{PROTOCOL_VERSION})")]
        if not session.client.token:
            checks.append(Check("podman", "Podman socket", "warn", "not logged in, so the agent's Podman link "
                                "was not checked", f"Log in: `bp -s {name} login`."))
            return checks
        try:
            info = await session.client.status()
        except ClientError as exc:
            checks.append(Check("podman", "Podman socket", "warn", exc.message, f"Log in again: `bp -s {name} login`."))
            return checks
        if info.podman_reachable:
            checks.append(Check("podman", "Podman socket", "ok", f"Podman {info.podman_version} answers the agent"))
        else:
            checks.append(Check("podman", "Podman socket", "fail", "the agent cannot reach Podman's API",
                                "Check `podman info` on the server and the Podman URL in the install "
                                "(install.json); restarting the agent starts its own Podman service."))
        return checks
    finally:
        await session.aclose()


def _podman_offline(facts: HostFacts) -> Check:
    if facts.podman_version:
        return Check("podman", "Podman socket", "skip", f"Podman {facts.podman_version} is installed; "
                     "its API is checked through a running agent")
    return Check("podman", "Podman socket", "fail", "Podman is not installed",
                 "Install it: `apt-get install podman` (Debian/Ubuntu) or `dnf install podman` (Fedora).")


def _disk(facts: HostFacts) -> Check:
    free = facts.disk_free_bytes
    where = f"{human_bytes(free)} free at {facts.state_dir}"
    if free is None:
        return Check("disk", "Disk space", "warn", "could not read free disk space", "Check `df -h` on the server.")
    if free < MIN_DISK_BYTES:
        return Check("disk", "Disk space", "fail", where, "Free space: `podman image prune -a`, old logs, backups.")
    if free < LOW_DISK_BYTES:
        return Check("disk", "Disk space", "warn", where, "Builds and images need room: free some space soon.")
    return Check("disk", "Disk space", "ok", where)


def _memory(facts: HostFacts) -> Check:
    avail = facts.mem_available_bytes
    detail = f"{human_bytes(avail)} available of {human_bytes(facts.mem_total_bytes)}"
    if avail is not None and avail < LOW_MEMORY:
        return Check("memory", "Memory", "warn", detail, "Stop unused apps or add memory/swap.")
    return Check("memory", "Memory", "ok", detail)


def _clock(facts: HostFacts, local_now: float) -> Check:
    if facts.server_time is None:
        return Check("clock", "Clock skew", "warn", "the server did not report its time", "")
    skew = facts.server_time - local_now
    detail = f"server clock is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} this computer"
    fix = "Enable time sync on the server: `timedatectl set-ntp true` (and on this computer)."
    if abs(skew) > SKEW_FAIL:
        return Check("clock", "Clock skew", "fail", detail, fix)
    if abs(skew) > SKEW_WARN:
        return Check("clock", "Clock skew", "warn", detail, fix)
    return Check("clock", "Clock skew", "ok", f"within {SKEW_WARN} s ({skew:+.1f} s)")
