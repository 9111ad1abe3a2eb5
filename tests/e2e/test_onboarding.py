"""Server onboarding end to end: `bp server add --install` over the real OpenSSH fixture.

"The server" is this machine seen through sshd on 127.0.0.1: the agent wheel built from
this checkout is uploaded over SFTP into a fresh prefix, installed into a new venv with
/usr/bin/python3 (dependencies from the machine's package index and pip cache), started
detached (the test machine has no systemd, which is the documented fallback), and
pointed at the session's isolated Podman service so the default store is never touched.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.system import short_tmpdir, wait_until
from test_cli_over_ssh import Bp

from basepod_agent.protocol.version import PROTOCOL_VERSION
from basepod_agent.protocol import AppCreate
from basepod_desktop.core import session as session_mod
from basepod_desktop.core.agent_wheel import agent_source_dir, build_agent_wheel
from basepod_desktop.core.credentials import TokenStore
from basepod_desktop.core.onboarding import Onboarding, inspect_host
from basepod_desktop.core.onboarding_steps import run_steps
from basepod_desktop.core.onboarding_doctor import diagnose
from basepod_desktop.core.onboarding_model import StepFailed, StepStatus, StepUpdate, resolve_options
from basepod_desktop.core.profiles import ProfileStore
from basepod_desktop.transport.remote import RemoteHost

PASSWORD = "correct horse battery"
EMAIL = "admin@example.com"
INSTALL_TIMEOUT = 300

pytestmark = pytest.mark.e2e


class Server:
    """One installed "server": prefix and state in a fresh temp dir, its bp home, its profile."""

    def __init__(self, sshd, podman, cache: Path) -> None:
        self.sshd = sshd
        self.podman = podman
        self.base = short_tmpdir("bp-ob-")
        self.prefix = self.base / "opt"
        self.state = self.base / "state"
        self.bp = Bp(self.base / "home", sshd.known_hosts_path)
        self.bp.env["BASEPOD_CACHE_DIR"] = str(cache)
        self.name = "vps"

    def install_args(self, *extra: str) -> list[str]:
        s = self.sshd
        return ["server", "add", self.name, "--host", s.host, "--port", str(s.port), "--user", s.user,
                "--identity", str(s.client_key), "--install", "--admin-email", EMAIL, "--password-stdin",
                "--prefix", str(self.prefix), "--state-dir", str(self.state), "--podman-url", self.podman.url,
                "--yes", *extra]

    def run_bp(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(self.bp.args(*args), env=self.bp.env, input=input, capture_output=True, text=True,
                              timeout=INSTALL_TIMEOUT)

    @property
    def profile(self):
        return ProfileStore(self.base / "home" / "cfg").get(self.name)

    @property
    def tokens(self) -> TokenStore:
        return TokenStore(self.base / "home" / "cfg", use_keyring=False)

    @property
    def tunnel_kwargs(self) -> dict:
        return {"known_hosts_path": self.sshd.known_hosts_path}

    def agent_pid(self) -> int:
        return int((self.state / "agent.pid").read_text())

    def stop_agent(self) -> None:
        pidfile = self.state / "agent.pid"
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text()), 15)
            except (ProcessLookupError, ValueError):
                pass

    def destroy(self) -> None:
        self.stop_agent()
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="module")
def wheel_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("wheels")


@pytest.fixture(scope="module")
def installed(sshd_server, podman_service, wheel_cache):
    server = Server(sshd_server, podman_service, wheel_cache)
    result = server.run_bp("--json", *server.install_args(), input=PASSWORD + "\n")
    server.first_run = result
    try:
        yield server
    finally:
        server.destroy()


def _events_of(job_events) -> list[StepUpdate]:
    async def collect():
        return [e async for e in job_events() if isinstance(e, StepUpdate) and e.status is not StepStatus.RUNNING]
    return asyncio.run(collect())


async def _job(server: Server, **option_overrides) -> tuple[RemoteHost, Onboarding]:
    profile = server.profile
    remote = await RemoteHost.connect(profile, **server.tunnel_kwargs)
    facts = await inspect_host(remote, str(server.prefix), str(server.state))
    options = resolve_options(facts, admin_email=EMAIL, **option_overrides)
    wheel = build_agent_wheel(cache_dir=Path(server.bp.env["BASEPOD_CACHE_DIR"]))
    return remote, Onboarding(remote, profile, facts, options, wheel, tokens=server.tokens, password=PASSWORD,
                              tunnel_kwargs=server.tunnel_kwargs)


async def _apps(server: Server) -> list[str]:
    session = await session_mod.connect(server.profile, server.tokens, **server.tunnel_kwargs)
    try:
        return sorted(a.name for a in await session.client.list_apps())
    finally:
        await session.aclose()


def test_bp_installs_the_agent_from_the_wheel_starts_it_and_logs_in(installed):
    result = installed.first_run
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    statuses = {s["step"]: s["status"] for s in report["steps"]}
    assert list(statuses) == ["check", "podman", "upload", "venv", "agent", "init", "service", "wait", "login"]
    assert statuses["podman"] == "skipped"  # already installed on the test machine
    assert statuses["service"] == "warning"  # no systemd here: detached, does not survive a reboot
    assert all(statuses[s] == "ok" for s in ("upload", "venv", "agent", "init", "wait", "login"))
    assert "will NOT start again after a reboot" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert (installed.prefix / "venv" / "bin" / "basepod-agent").exists()
    manifest = json.loads((installed.prefix / "install.json").read_text())
    assert manifest["service"] == "detached" and manifest["podman_url"] == installed.podman.url
    assert installed.profile.socket == str(installed.state / "agent.sock")
    assert installed.tokens.get(installed.name)
    apps = installed.run_bp("--json", "-s", installed.name, "apps")
    assert apps.returncode == 0 and json.loads(apps.stdout) == []


def test_the_admin_password_never_reaches_a_command_line_or_the_agent_log(installed):
    log = (installed.state / "agent.log").read_text()
    assert PASSWORD not in log
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert PASSWORD not in ps


def test_a_second_install_run_skips_everything_already_done(installed):
    pid = installed.agent_pid()
    result = installed.run_bp("--json", *installed.install_args(), input=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    statuses = {s["step"]: s["status"] for s in json.loads(result.stdout)["steps"]}
    for step in ("podman", "upload", "venv", "agent", "init"):
        assert statuses[step] == "skipped", (step, result.stderr)
    assert statuses["wait"] == "ok" and statuses["login"] == "ok"
    assert installed.agent_pid() == pid  # the running agent was left alone


def test_inspect_reports_the_host_and_the_installed_agent(installed):
    result = installed.run_bp("--json", "server", "inspect", installed.name)
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["is_root"] and facts["python_version"].startswith("3.")
    assert facts["podman_version"] and facts["installed_version"] == facts["local_agent_version"]
    assert facts["initialised"] and facts["service_mode"] == "detached"
    assert facts["disk_free_bytes"] > 0 and facts["mem_total_bytes"] > 0


def test_doctor_passes_on_a_healthy_install(installed):
    result = installed.run_bp("--json", "server", "doctor", installed.name)
    report = json.loads(result.stdout)
    by_name = {c["name"]: c for c in report["checks"]}
    assert result.returncode == 0, result.stdout
    assert [c for c in by_name] == ["ssh", "installed", "running", "protocol", "podman", "disk", "memory", "clock"]
    for name in ("ssh", "installed", "running", "protocol", "podman", "clock"):
        assert by_name[name]["status"] == "ok", by_name[name]


def test_upgrade_to_a_new_build_keeps_the_apps_and_the_state(installed, busybox_image, tmp_path):
    async def create_app():
        session = await session_mod.connect(installed.profile, installed.tokens, **installed.tunnel_kwargs)
        try:
            await session.client.create_app(AppCreate(name="keepme", image=busybox_image, port=8080))
        finally:
            await session.aclose()
    asyncio.run(create_app())
    source = tmp_path / "agent"
    shutil.copytree(agent_source_dir(), source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    with open(source / "basepod_agent" / "__init__.py", "a") as fh:
        fh.write("\n# a newer build of the same version\n")
    wheel = build_agent_wheel(source, cache_dir=tmp_path / "wheels")
    installed.bp.env["BASEPOD_AGENT_WHEEL"] = str(wheel.path)
    old_pid = installed.agent_pid()
    try:
        result = installed.run_bp("--json", "server", "upgrade", installed.name, "--yes")
    finally:
        del installed.bp.env["BASEPOD_AGENT_WHEEL"]
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    statuses = {s["step"]: s["status"] for s in report["steps"]}
    assert statuses["snapshot"] == "ok" and statuses["stop"] == "ok" and statuses["agent"] == "ok"
    assert statuses["verify"] == "ok" and "keepme" in report["apps"]
    assert installed.agent_pid() != old_pid
    assert json.loads((installed.prefix / "install.json").read_text())["wheel_sha256"] == wheel.sha256
    assert "keepme" in asyncio.run(_apps(installed))
    again = installed.run_bp("server", "upgrade", installed.name, "--yes")
    assert again.returncode == 0 and "newer" not in again.stdout and "upgrade:" in again.stdout


def test_doctor_names_a_stopped_agent_and_how_to_start_it(installed):
    apps = asyncio.run(_apps(installed))
    installed.stop_agent()
    wait_until(lambda: not (installed.state / "agent.sock").exists(), 20, "agent to stop")
    checks = {c.name: c for c in asyncio.run(diagnose(installed.profile, installed.tokens, **installed.tunnel_kwargs))}
    assert checks["ssh"].status == "ok"
    assert checks["running"].status == "fail" and "bp server upgrade vps --force" in checks["running"].fix
    assert checks["protocol"].status == "skip"
    result = installed.run_bp("server", "doctor", installed.name)
    assert result.returncode == 1 and "FAIL  Agent running" in result.stdout and "fix:" in result.stdout
    restarted = installed.run_bp("server", "upgrade", installed.name, "--force", "--yes")
    assert restarted.returncode == 0, restarted.stderr
    assert asyncio.run(_apps(installed)) == apps


def test_a_failed_step_is_named_and_the_next_run_resumes_from_it(installed):
    dist = installed.prefix / "dist"
    shutil.move(dist, installed.base / "dist.saved")
    dist.write_text("not a folder")  # upload cannot create its folder
    try:
        broken = installed.run_bp(*installed.install_args(), input=PASSWORD + "\n")
    finally:
        dist.unlink()
    assert broken.returncode == 1
    assert "step 'upload' (Upload the agent) failed" in broken.stderr and "run the same command again" in broken.stderr
    resumed = installed.run_bp("--json", *installed.install_args(), input=PASSWORD + "\n")
    assert resumed.returncode == 0, resumed.stderr
    statuses = {s["step"]: s["status"] for s in json.loads(resumed.stdout)["steps"]}
    assert statuses["upload"] == "ok" and statuses["venv"] == "skipped" and statuses["login"] == "ok"


def test_a_missing_python_fails_the_check_step_before_touching_the_server(sshd_server, podman_service, wheel_cache):
    server = Server(sshd_server, podman_service, wheel_cache)
    try:
        # The profile must exist for _job; a plain add writes it without installing.
        server.bp("server", "add", server.name, "--host", sshd_server.host, "--port", str(sshd_server.port),
                  "--user", sshd_server.user, "--key", str(sshd_server.client_key))

        async def attempt():
            remote, job = await _job(server, prefix=str(server.prefix), state_dir=str(server.state),
                                     python="/nonexistent/python3", podman_url=podman_service.url)
            try:
                return [e async for e in job.install()]
            finally:
                await remote.aclose()
        with pytest.raises(StepFailed) as failed:
            asyncio.run(attempt())
        assert failed.value.step == "check" and "Python 3 was not found" in failed.value.message
        assert not server.prefix.exists()  # nothing half-done before the check passed
    finally:
        server.destroy()


async def _restart_agent(server: Server) -> None:
    """Stop and start the installed agent in place (no reinstall), as a reboot would leave it."""
    from basepod_desktop.core import agent_service
    remote = await RemoteHost.connect(server.profile, **server.tunnel_kwargs)
    try:
        facts = await inspect_host(remote, str(server.prefix))
        options = facts.manifest.options()
        await agent_service.stop(remote, facts, options, "detached", lambda _line: None)
        await agent_service.install_and_start(remote, facts, options, "detached", lambda _line: None)
    finally:
        await remote.aclose()


def test_an_agent_speaking_an_older_protocol_is_explained_and_fixed_by_upgrade(installed):
    (version_py,) = installed.prefix.glob("venv/lib/python3*/site-packages/basepod_agent/protocol/version.py")
    version_py.write_text(version_py.read_text().replace(f"PROTOCOL_VERSION = {PROTOCOL_VERSION}", f"PROTOCOL_VERSION = {PROTOCOL_VERSION - 1}"))
    asyncio.run(_restart_agent(installed))
    wait_until(lambda: (installed.state / "agent.sock").exists(), 20, "the old agent's socket")

    apps = installed.run_bp("-s", installed.name, "apps")
    assert apps.returncode == 3 and f"speaks protocol {PROTOCOL_VERSION - 1}" in apps.stderr and "upgrade the agent" in apps.stderr
    doctor = json.loads(installed.run_bp("--json", "server", "doctor", installed.name).stdout)
    protocol = next(c for c in doctor["checks"] if c["name"] == "protocol")
    assert protocol["status"] == "fail" and f"bp server upgrade {installed.name}" in protocol["fix"]

    fixed = installed.run_bp("--json", "server", "upgrade", installed.name, "--force", "--yes")
    assert fixed.returncode == 0, fixed.stderr
    statuses = {s["step"]: s["status"] for s in json.loads(fixed.stdout)["steps"]}
    assert statuses["snapshot"] == "skipped"  # the old protocol cannot list apps for us
    assert statuses["agent"] == "ok" and statuses["wait"] == "ok"
    assert f"PROTOCOL_VERSION = {PROTOCOL_VERSION}" in version_py.read_text()
    assert installed.run_bp("-s", installed.name, "apps").returncode == 0


def test_bp_prints_each_step_with_its_outcome(installed):
    result = installed.run_bp(*installed.install_args(), input=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "plan:\n  - Check the server:" in out and "==> Upload the agent" in out
    assert "    skipped: basepod_agent-" in out and "    ok: logged in as admin@example.com" in out
    assert f"server {installed.name} is ready: agent" in out.splitlines()[-1]


def test_bp_will_not_install_without_a_password_or_consent_from_a_terminal(installed):
    args = [a for a in installed.install_args() if a not in ("--yes", "--password-stdin")]
    no_password = installed.run_bp(*args, input="")
    assert no_password.returncode == 2 and "--password-stdin" in no_password.stderr
    no_consent = installed.run_bp(*args, "--password-stdin", input=PASSWORD + "\n")
    assert no_consent.returncode == 2 and "pass --yes" in no_consent.stderr
    assert "plan:" in no_consent.stdout and "==>" not in no_consent.stdout  # shown, not run


def test_missing_podman_is_installed_only_with_consent_and_only_where_possible(installed):
    async def podman_step(**facts_update):
        remote, job = await _job(installed, prefix=str(installed.prefix), state_dir=str(installed.state),
                                 install_podman=facts_update.pop("consent"))
        job.facts = job.facts.model_copy(update={"podman_version": None, **facts_update})
        try:
            return [e async for e in run_steps([s for s in job.install_steps() if s.name == "podman"])]
        finally:
            await remote.aclose()

    with pytest.raises(StepFailed) as refused:
        asyncio.run(podman_step(consent=False))
    assert refused.value.step == "podman" and "apt-get install podman" in refused.value.message
    with pytest.raises(StepFailed) as no_sudo:
        asyncio.run(podman_step(consent=True, uid=1000, user="ann", sudo=False))
    assert "ann has no passwordless sudo" in no_sudo.value.message
    with pytest.raises(StepFailed) as unknown:
        asyncio.run(podman_step(consent=True, package_manager=None, os_name="Plan 9"))
    assert "no supported package manager on Plan 9" in unknown.value.message
