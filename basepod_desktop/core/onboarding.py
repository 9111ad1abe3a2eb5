"""Install and upgrade the agent on a server over SSH, as a stream of typed step events.

`bp` prints the events, the desktop renders them in a progress page; neither knows the
steps. Every step is check-then-act, so a failed run is resumed by running it again: a
step whose result is already there reports SKIPPED. The admin password only ever travels
on the stdin of the one `basepod-agent init` command, and to the agent's login.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Optional

from basepod_desktop.client import AgentUnreachable, BadCredentials, ClientError, ProtocolMismatch
from basepod_desktop.transport import RemoteSocketMissing, TransportError
from basepod_desktop.transport.remote import LineSink, RemoteHost

from . import agent_service, onboarding_scripts as scripts
from . import session as session_mod
from .agent_wheel import AgentWheel
from .credentials import TokenStore
from .onboarding_model import MIN_DISK_BYTES, HostFacts, InstallManifest, InstallOptions, ServiceMode, StepEvent, human_bytes
from .onboarding_steps import Skipped, Step, StepError, Warned, error_message, compare_versions, run_steps
from .profiles import ServerProfile

AGENT_READY_TIMEOUT = 45.0
MODE_LABELS = {"systemd-system": "a systemd service", "systemd-user": "a systemd user service (lingering)",
               "detached": "a background process (no systemd here)"}


async def inspect_host(remote: RemoteHost, prefix: Optional[str] = None, state_dir: Optional[str] = None) -> HostFacts:
    result = await remote.script(scripts.INSPECT, prefix or "", state_dir or "", what="inspecting the server")
    return scripts.parse_inspect(result.stdout)


def upgrade_reason(facts: HostFacts, wheel: AgentWheel) -> Optional[str]:
    """Why this server's agent should be upgraded to `wheel`, or None when it should not."""
    if not facts.installed_version:
        return None
    order = compare_versions(facts.installed_version, wheel.version)
    if order < 0:
        return f"the server runs agent {facts.installed_version}, this Basepod has {wheel.version}"
    if order == 0 and facts.manifest and facts.manifest.source_hash != wheel.source_hash:
        return f"the server runs another build of agent {wheel.version} (source {facts.manifest.source_hash[:8]}, " \
               f"here {wheel.source_hash[:8]})"
    return None


class Onboarding:
    """The install and upgrade sequences for one server; `install()`/`upgrade()` stream events."""

    def __init__(self, remote: RemoteHost, profile: ServerProfile, facts: HostFacts, options: InstallOptions,
                 wheel: AgentWheel, *, tokens: Optional[TokenStore] = None, password: Optional[str] = None,
                 tunnel_kwargs: Optional[dict] = None, mode: Optional[ServiceMode] = None,
                 reinstall: bool = False) -> None:
        self.remote = remote
        self.facts = facts
        self.options = options
        self.wheel = wheel
        self.tokens = tokens
        self.password = password
        self.tunnel_kwargs = tunnel_kwargs or {}
        self.reinstall = reinstall  # pip-install the wheel even when the marker says it is there
        self.mode: ServiceMode = mode or (facts.manifest.service if facts.manifest else facts.service_mode)
        self.profile = profile.model_copy(update={"socket": options.socket, "agent_prefix": options.prefix})
        self.apps_before: Optional[list[str]] = None
        self.apps_after: Optional[list[str]] = None

    @property
    def remote_wheel(self) -> str:
        return f"{self.options.prefix}/dist/{self.wheel.path.name}"

    # -- the sequences --------------------------------------------------------------------

    def install_steps(self) -> list[Step]:
        return [
            Step("check", "Check the server", self._check),
            Step("podman", "Podman", self._podman),
            Step("upload", "Upload the agent", self._upload),
            Step("venv", "Python environment", self._venv),
            Step("agent", "Install the agent", self._install_agent),
            Step("init", "Initialise the state directory", self._init),
            Step("service", "Start the agent", self._start),
            Step("wait", "Wait for the agent", self._wait),
            Step("login", "Log in", self._login),
        ]

    def upgrade_steps(self) -> list[Step]:
        return [
            Step("snapshot", "Read the app list", self._snapshot),
            Step("upload", "Upload the agent", self._upload),
            Step("stop", "Stop the agent", self._stop),
            Step("agent", "Install the agent", self._install_agent),
            Step("service", "Start the agent", self._start),
            Step("wait", "Wait for the agent", self._wait),
            Step("verify", "Check the data", self._verify),
        ]

    def install(self) -> AsyncIterator[StepEvent]:
        if self.password is None:
            raise ValueError("installing needs the admin password")
        return run_steps(self.install_steps())

    def upgrade(self) -> AsyncIterator[StepEvent]:
        return run_steps(self.upgrade_steps())

    def plan(self) -> list[tuple[str, str]]:
        """(title, what will happen) per install step, for the confirmation screen."""
        f, o = self.facts, self.options
        podman = (f"keep Podman {f.podman_version} ({f.podman_mode})" if f.podman_version
                  else f"install Podman with {f.package_manager}" if f.package_manager else "Podman is MISSING")
        installed = f.installed_version and f.manifest and f.manifest.wheel_sha256 == self.wheel.sha256
        service = {"systemd-system": f"systemd unit {agent_service.unit_path('systemd-system', f)}",
                   "systemd-user": "systemd user unit with lingering",
                   "detached": "background process (no systemd: not restarted after a reboot)"}[self.mode]
        return [
            ("Check the server", f"{f.os_name or f.os_id or 'unknown OS'}, Python {f.python_version or 'missing'}, "
                                 f"{human_bytes(f.disk_free_bytes)} free"),
            ("Podman", podman),
            ("Upload the agent", f"{self.wheel.path.name} to {o.prefix}/dist"),
            ("Python environment", f"{o.venv}"),
            ("Install the agent", f"keep agent {f.installed_version}" if installed
             else f"agent {self.wheel.version} with pip (dependencies from the server's package index)"),
            ("Initialise the state directory", f"{o.state_dir} with admin {o.admin_email}"
             + (" (already initialised: kept)" if f.initialised else "")),
            ("Start the agent", f"{service}, socket {o.socket}"),
            ("Log in", f"as {o.admin_email}; the token is kept on this computer"),
        ]

    # -- steps ------------------------------------------------------------------------------

    async def _check(self, log: LineSink) -> object:
        f, o = self.facts, self.options
        version, venv_ok = f.python_version, f.python_venv
        if o.python != "python3":
            probe = await self.remote.run([o.python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3]); "
                                           "import venv, ensurepip"], check=False)
            version = probe.stdout.strip() or None
            venv_ok = probe.ok
        if not version:
            raise StepError(f"Python 3 was not found ({o.python}); install it: apt-get install python3 python3-venv "
                            "(or dnf install python3)")
        if compare_versions(version, "3.10") < 0:
            raise StepError(f"Python {version} is too old: the agent needs 3.10 or newer")
        if not venv_ok:
            raise StepError(f"Python {version} cannot create virtual environments: apt-get install python3-venv")
        if f.disk_free_bytes is not None and f.disk_free_bytes < MIN_DISK_BYTES:
            raise StepError(f"only {human_bytes(f.disk_free_bytes)} free at {o.state_dir}: free at least 1 GiB")
        if len(o.socket.encode()) > 100:
            raise StepError(f"the socket path {o.socket} is too long for a Unix socket (100 bytes at most)")
        log(f"{f.os_name or f.os_id}; Python {version}; {human_bytes(f.disk_free_bytes)} free; "
            f"memory {human_bytes(f.mem_available_bytes)} available of {human_bytes(f.mem_total_bytes)}")
        summary = f"Python {version}; the agent will run as {MODE_LABELS[self.mode]}"
        if not f.is_root and not f.subuid:
            return Warned(f"{summary}. {f.user} has no /etc/subuid range, which rootless Podman needs: "
                          f"`usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {f.user}` as root")
        return summary

    async def _podman(self, log: LineSink) -> object:
        f = self.facts
        if f.podman_version:
            return Skipped(f"Podman {f.podman_version} is installed ({f.podman_mode})")
        if not self.options.install_podman:
            raise StepError("Podman is not installed; allow Basepod to install it, or run "
                            "`apt-get install podman` (Debian/Ubuntu) / `dnf install podman` (Fedora) yourself")
        sudo = [] if f.is_root else ["sudo", "-n"] if f.sudo else None
        if sudo is None:
            raise StepError(f"installing Podman needs root and {f.user} has no passwordless sudo; "
                            "ask an administrator to install podman")
        if f.package_manager == "apt-get":
            await self.remote.run([*sudo, "apt-get", "update"], on_line=log, what="apt-get update")
            await self.remote.run([*sudo, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y",
                                   "podman"], on_line=log, what="apt-get install podman")
        elif f.package_manager == "dnf":
            await self.remote.run([*sudo, "dnf", "install", "-y", "podman"], on_line=log, what="dnf install podman")
        else:
            raise StepError(f"no supported package manager on {f.os_name or 'this server'}: install podman by hand")
        version = await self.remote.run(["podman", "--version"], what="podman --version")
        return version.stdout.strip()

    async def _upload(self, log: LineSink) -> object:
        dist = f"{self.options.prefix}/dist"
        await self.remote.script(scripts.MKDIR, self.options.prefix, "0755", what=f"creating {self.options.prefix}")
        await self.remote.script(scripts.MKDIR, dist, "0755", what=f"creating {dist}")
        existing = await self.remote.script(scripts.SHA256, self.remote_wheel, what="checking the uploaded wheel")
        if existing.stdout.strip() == self.wheel.sha256:
            return Skipped(f"{self.wheel.path.name} is already on the server")
        size = self.wheel.path.stat().st_size
        await self.remote.upload(self.wheel.path, self.remote_wheel)
        log(f"uploaded {self.remote_wheel} ({human_bytes(size)}) over SFTP")
        return f"{self.wheel.path.name} ({human_bytes(size)})"

    async def _venv(self, log: LineSink) -> object:
        python = self.options.python if self.options.python != "python3" else (self.facts.python or "python3")
        result = await self.remote.script(scripts.VENV, python, self.options.venv, on_line=log,
                                          what="creating the virtual environment")
        return Skipped(f"{self.options.venv} exists") if "venv exists" in result.stdout else f"created {self.options.venv}"

    async def _install_agent(self, log: LineSink) -> object:
        marker = f"{self.options.venv}/.basepod-wheel"
        if not self.reinstall and (await self.remote.read_text(marker) or "").strip() == self.wheel.sha256:
            return Skipped(f"agent {self.wheel.version} from this wheel is installed")
        pip = [f"{self.options.venv}/bin/python", "-m", "pip", "install", "--disable-pip-version-check",
               "--no-input", "--progress-bar", "off"]
        if self.options.find_links:
            pip += ["--find-links", self.options.find_links]
        await self.remote.run([*pip, self.remote_wheel], on_line=log, what="pip install (dependencies)")
        await self.remote.run([*pip, "--no-deps", "--force-reinstall", self.remote_wheel], on_line=log,
                              what="pip install basepod-agent")
        await self.remote.write_text(marker, self.wheel.sha256 + "\n")
        return f"agent {self.wheel.version} installed in {self.options.venv}"

    async def _init(self, log: LineSink) -> object:
        o = self.options
        result = await self.remote.script(
            scripts.WITH_PASSWORD, o.agent_bin, "init", "--state-dir", o.state_dir, "--admin-email", o.admin_email,
            stdin=(self.password or "") + "\n", on_line=log, what="basepod-agent init",
        )
        if "already exists" in result.stdout:
            return Skipped(f"{o.state_dir} is initialised; {o.admin_email} already exists")
        return f"{o.state_dir} initialised with admin {o.admin_email}"

    def manifest(self) -> InstallManifest:
        o = self.options
        return InstallManifest(prefix=o.prefix, state_dir=o.state_dir, socket=o.socket, podman_url=o.podman_url,
                               edge=o.edge, service=self.mode, agent_version=self.wheel.version,
                               source_hash=self.wheel.source_hash, wheel_sha256=self.wheel.sha256)

    async def _start(self, log: LineSink) -> object:
        text = json.dumps(self.manifest().model_dump(mode="json"), indent=2) + "\n"
        await self.remote.write_text(f"{self.options.prefix}/install.json", text, 0o644)
        done = await agent_service.install_and_start(self.remote, self.facts, self.options, self.mode, log)
        if self.mode == "detached":
            return Warned(f"{done}; no systemd here, so it will not survive a reboot")
        return Skipped(done) if done == "already running" else done

    async def _stop(self, log: LineSink) -> object:
        return await agent_service.stop(self.remote, self.facts, self.options, self.mode, log)

    async def open_session(self, timeout: float = AGENT_READY_TIMEOUT) -> session_mod.AgentSession:
        """Connect to the freshly started agent, polling until its socket answers."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return await session_mod.connect(self.profile, self.tokens, **self.tunnel_kwargs)
            except ProtocolMismatch:
                raise
            except (RemoteSocketMissing, AgentUnreachable) as exc:
                if time.monotonic() > deadline:
                    tail = await agent_service.recent_log(self.remote, self.facts, self.options, self.mode)
                    raise StepError(f"the agent did not answer on {self.options.socket} within {timeout:g} s "
                                    f"({error_message(exc)}). Its log ends with:\n{tail or '(empty)'}") from None
            await asyncio.sleep(0.3)

    async def _wait(self, log: LineSink) -> object:
        session = await self.open_session()
        try:
            log(f"agent {session.version.agent_version}, protocol {session.version.protocol_version}")
            return f"agent {session.version.agent_version} answers on {self.options.socket}"
        finally:
            await session.aclose()

    async def _login(self, log: LineSink) -> object:
        session = await self.open_session()
        try:
            try:
                await session.client.login(self.options.admin_email, self.password or "")
            except BadCredentials:
                raise StepError(f"{self.options.admin_email} already exists on this server with another password; "
                                "install again with that password") from None
            if self.tokens is not None:
                await session.remember_token(self.tokens)
            apps = await session.client.list_apps()
            self.apps_after = [a.name for a in apps]
            log(f"{len(apps)} apps on the server")
        finally:
            await session.aclose()
        return f"logged in as {self.options.admin_email}"

    async def _apps(self) -> Optional[list[str]]:
        session = await self.open_session(timeout=AGENT_READY_TIMEOUT)
        try:
            if not session.client.token:
                return None
            return sorted(a.name for a in await session.client.list_apps())
        finally:
            await session.aclose()

    async def _snapshot(self, log: LineSink) -> object:
        if not await agent_service.is_running(self.remote, self.facts, self.options, self.mode):
            return Skipped("the agent is not running; the data check will only see the state directory")
        try:
            self.apps_before = await self._apps()
        except (ClientError, TransportError, StepError) as exc:
            return Skipped(f"cannot read the apps before upgrading ({error_message(exc)})")
        if self.apps_before is None:
            return Skipped("not logged in: the app list cannot be compared (run `bp login` first)")
        return f"{len(self.apps_before)} apps"

    async def _verify(self, log: LineSink) -> object:
        db = await self.remote.script(scripts.SHA256, f"{self.options.state_dir}/agent.db", what="checking the database")
        if not db.stdout.strip():
            raise StepError(f"{self.options.state_dir}/agent.db is missing after the upgrade")
        self.apps_after = await self._apps()
        if self.apps_before is None or self.apps_after is None:
            return Skipped("state directory kept; app list not compared (not logged in)")
        lost = sorted(set(self.apps_before) - set(self.apps_after))
        if lost:
            raise StepError(f"apps missing after the upgrade: {', '.join(lost)}")
        if not self.apps_before:
            return "agent.db kept (no apps yet)"
        return f"all {len(self.apps_before)} apps are still there"
