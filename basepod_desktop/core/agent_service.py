"""Running the installed agent on a server: a systemd system unit (root), a systemd user
unit with lingering (non-root), or, where there is no systemd, a detached process with a
pidfile and log in the state dir (it does not survive a reboot; the installer says so).
"""

from __future__ import annotations

from typing import Optional

from basepod_desktop.transport.remote import LineSink, RemoteHost

from . import onboarding_scripts as scripts
from .onboarding_model import SERVICE_NAME, HostFacts, InstallOptions, ServiceMode

NO_REBOOT_WARNING = ("This server has no systemd: the agent runs as a background process "
                     "and will NOT start again after a reboot. After a reboot, start it with "
                     "`bp server upgrade NAME --force` (or Upgrade agent in the desktop).")


def serve_argv(options: InstallOptions) -> list[str]:
    argv = [options.agent_bin, "serve", "--state-dir", options.state_dir, "--socket", options.socket]
    if options.podman_url:
        argv += ["--podman-url", options.podman_url]
    if options.edge:
        argv += ["--edge", options.edge]
    return argv


def unit_path(mode: ServiceMode, facts: HostFacts) -> str:
    if mode == "systemd-system":
        return f"/etc/systemd/system/{SERVICE_NAME}.service"
    return f"{facts.home}/.config/systemd/user/{SERVICE_NAME}.service"


def _systemd_quote(arg: str) -> str:
    """ExecStart words: validated paths need no quoting, but keep specifiers literal."""
    return arg.replace("%", "%%")


def render_unit(options: InstallOptions, mode: ServiceMode) -> str:
    """The unit file; hardening options are dropped where they would hide the agent's paths."""
    paths = [options.prefix, options.state_dir, options.socket, (options.podman_url or "")[len("unix://"):]]
    lines = [
        "# Written by the Basepod installer; reinstalling or upgrading rewrites it.",
        "[Unit]",
        "Description=Basepod agent (drives Podman for the Basepod desktop app and bp)",
        "After=network-online.target" + (" podman.socket" if mode == "systemd-system" else ""),
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        "ExecStart=" + " ".join(_systemd_quote(a) for a in serve_argv(options)),
        "Restart=on-failure",
        "RestartSec=2",
        "Environment=MALLOC_ARENA_MAX=2",
        "UMask=0077",
    ]
    if mode == "systemd-system":
        lines.append("NoNewPrivileges=yes")
        if not any(p.startswith(("/home", "/root")) for p in paths if p):
            lines.append("ProtectHome=read-only")
        if not any(p.startswith(("/tmp", "/var/tmp")) for p in paths if p):
            lines.append("PrivateTmp=yes")
    lines += ["", "[Install]", "WantedBy=" + ("multi-user.target" if mode == "systemd-system" else "default.target"), ""]
    return "\n".join(lines)


def _systemctl(mode: ServiceMode, facts: HostFacts, *args: str) -> list[str]:
    if mode == "systemd-system":
        return ["systemctl", *args]
    # A non-interactive SSH session may lack XDG_RUNTIME_DIR; the user manager lives there.
    return ["env", f"XDG_RUNTIME_DIR=/run/user/{facts.uid}", "systemctl", "--user", *args]


def pidfile(options: InstallOptions) -> str:
    return f"{options.state_dir}/agent.pid"


def logfile(options: InstallOptions) -> str:
    return f"{options.state_dir}/agent.log"


async def install_and_start(remote: RemoteHost, facts: HostFacts, options: InstallOptions,
                            mode: ServiceMode, log: LineSink) -> str:
    """Make the agent run (check-then-act); returns what was done, for the step message."""
    if mode == "detached":
        result = await remote.script(scripts.START_DETACHED, pidfile(options), logfile(options),
                                     *serve_argv(options), on_line=log, what="starting the agent")
        log(NO_REBOOT_WARNING)
        return result.stdout.strip() or "started"
    path = unit_path(mode, facts)
    text = render_unit(options, mode)
    changed = (await remote.read_text(path)) != text
    if mode == "systemd-user":
        await remote.run(["loginctl", "enable-linger", facts.user], on_line=log, what="loginctl enable-linger")
    if changed:
        await remote.script(scripts.MKDIR, path.rsplit("/", 1)[0], "0755", what="creating the unit folder")
        await remote.write_text(path, text, 0o644)
        log(f"wrote {path}")
        await remote.run(_systemctl(mode, facts, "daemon-reload"), on_line=log, what="systemctl daemon-reload")
    await remote.run(_systemctl(mode, facts, "enable", SERVICE_NAME), on_line=log, what="systemctl enable")
    active = await remote.run(_systemctl(mode, facts, "is-active", "--quiet", SERVICE_NAME), check=False)
    if active.ok and not changed:
        return "already running"
    await remote.run(_systemctl(mode, facts, "restart", SERVICE_NAME), on_line=log, what="systemctl restart")
    return "unit updated and (re)started" if changed else "started"


async def stop(remote: RemoteHost, facts: HostFacts, options: InstallOptions, mode: ServiceMode,
               log: LineSink) -> str:
    if mode == "detached":
        result = await remote.script(scripts.STOP_DETACHED, pidfile(options), on_line=log, what="stopping the agent")
        return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "stopped"
    await remote.run(_systemctl(mode, facts, "stop", SERVICE_NAME), on_line=log, what="systemctl stop")
    return "stopped"


async def is_running(remote: RemoteHost, facts: HostFacts, options: InstallOptions, mode: ServiceMode) -> bool:
    if mode == "detached":
        return (await remote.script(scripts.DETACHED_RUNNING, pidfile(options), check=False)).ok
    return (await remote.run(_systemctl(mode, facts, "is-active", "--quiet", SERVICE_NAME), check=False)).ok


async def recent_log(remote: RemoteHost, facts: HostFacts, options: InstallOptions, mode: ServiceMode,
                     lines: int = 30) -> Optional[str]:
    """The end of the agent's log, to explain why it did not come up."""
    if mode == "detached":
        argv = ["tail", "-n", str(lines), logfile(options)]
    elif mode == "systemd-system":
        argv = ["journalctl", "-u", SERVICE_NAME, "-n", str(lines), "--no-pager"]
    else:
        argv = ["journalctl", "--user", "-u", SERVICE_NAME, "-n", str(lines), "--no-pager"]
    result = await remote.run(argv, check=False)
    return (result.stdout or result.stderr).strip() or None
