"""``bp server add --install``, ``inspect``, ``upgrade``, ``doctor``: onboarding over SSH.

The steps live in ``core/onboarding.py``; this module asks (password, confirmation),
prints the step stream and maps the outcome to an exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import AsyncIterator

from basepod_agent.protocol import AGENT_VERSION
from basepod_desktop.cli import exitcodes
from basepod_desktop.cli.context import Context
from basepod_desktop.cli.output import emit_json, err
from basepod_desktop.core.agent_wheel import WheelBuildFailed
from basepod_desktop.core.onboarding import compare_versions
from basepod_desktop.core.onboarding_model import (
    HostFacts, StepEvent, StepFailed, StepOutput, StepStatus, StepUpdate, human_bytes,
)
from basepod_desktop.core.profiles import ProfileExists, ProfileNotFound, ServerProfile
from basepod_desktop.core.server_setup import NothingToUpgrade, NotInstalledByBasepod, ServerSetup

_MARKS = {StepStatus.OK: "ok", StepStatus.SKIPPED: "skipped", StepStatus.WARNING: "warning",
          StepStatus.FAILED: "FAILED"}


def _out(json_mode: bool):
    """Progress goes to stderr under --json, so stdout stays one JSON document."""
    return sys.stderr if json_mode else sys.stdout


def print_facts(facts: HostFacts, stream) -> None:
    podman = f"Podman {facts.podman_version} ({facts.podman_mode})" if facts.podman_version else "Podman not installed"
    systemd = f"systemd ({facts.systemd_state})" if facts.systemd else "no systemd"
    print(f"server   {facts.os_name or facts.os_id or 'unknown OS'}, user {facts.user}"
          f"{' (root)' if facts.is_root else ''}", file=stream)
    print(f"python   {facts.python or 'python3 missing'} {facts.python_version or ''}"
          f"{'' if facts.python_venv else ' (no venv module)'}", file=stream)
    print(f"runtime  {podman}; {systemd}", file=stream)
    print(f"space    {human_bytes(facts.disk_free_bytes)} free disk; {human_bytes(facts.mem_available_bytes)} "
          f"of {human_bytes(facts.mem_total_bytes)} memory available", file=stream)
    print(f"agent    {facts.installed_version or 'not installed'} in {facts.prefix}"
          f"{'; state initialised' if facts.initialised else ''}", file=stream)


async def print_steps(events: AsyncIterator[StepEvent], stream) -> list[StepUpdate]:
    finished: list[StepUpdate] = []
    async for event in events:
        if isinstance(event, StepOutput):
            print(f"    {event.line}", file=stream, flush=True)
        elif event.status is StepStatus.RUNNING:
            print(f"==> {event.title}", file=stream, flush=True)
        else:
            finished.append(event)
            print(f"    {_MARKS[event.status]}: {event.message} ({event.seconds:.1f} s)", file=stream, flush=True)
    return finished


async def _steps_or_none(events: AsyncIterator[StepEvent], stream, hint: str) -> list[StepUpdate] | None:
    """The finished steps, or None after saying which step failed and how to go on."""
    try:
        return await print_steps(events, stream)
    except StepFailed as exc:
        err(f"step '{exc.step}' ({exc.title}) failed: {exc.message}")
        err(hint)
        return None


def _steps_json(steps: list[StepUpdate]) -> list[dict]:
    return [{"step": s.step, "title": s.title, "status": s.status.value, "message": s.message,
             "seconds": round(s.seconds, 2)} for s in steps]


async def _guard(coro):
    """Setup problems a person fixes (no agent source, not a Basepod install) are usage errors."""
    try:
        return await coro
    except (WheelBuildFailed, NotInstalledByBasepod) as exc:
        raise ValueError(str(exc)) from None


def read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Admin password for the new agent: ")
        if password != getpass.getpass("Repeat the password: "):
            raise ValueError("the passwords differ")
    else:
        raise ValueError("no terminal to ask the admin password: pass --password-stdin")
    if len(password) < 8:
        raise ValueError("the admin password must have at least 8 characters")
    return password


async def _confirm(question: str, args: argparse.Namespace) -> bool:
    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise ValueError("no terminal to confirm the plan: pass --yes")
    answer = await asyncio.to_thread(input, f"{question} [y/N] ")
    return answer.strip().lower() in ("y", "yes")


async def add_and_install(ctx: Context, args: argparse.Namespace, profile: ServerProfile) -> int:
    try:
        existing = ctx.profiles.get(profile.name)
    except ProfileNotFound:
        existing = None
    same_target = existing and (existing.host, existing.port, existing.user) == (profile.host, profile.port, profile.user)
    if existing and not (args.replace or same_target):
        raise ProfileExists(profile.name)  # resuming an install on the same target needs no --replace
    admin_email = args.admin_email or await asyncio.to_thread(input, "Admin e-mail: ")
    password = read_password(args)
    stream = _out(ctx.json)
    setup = ServerSetup(profile, ctx.tokens, **ctx.tunnel_kwargs())
    try:
        print_facts(await setup.inspect(args.prefix, args.state_dir), stream)
        job = await _guard(setup.prepare_install(
            admin_email, password, prefix=args.prefix, state_dir=args.state_dir, socket=args.socket,
            podman_url=args.podman_url, edge=args.edge, install_podman=True))
        print("plan:", file=stream)
        for title, action in job.plan():
            print(f"  - {title}: {action}", file=stream)
        if not await _confirm(f"Install the Basepod agent on {profile.display_target}?", args):
            err("cancelled; nothing was changed")
            return exitcodes.FAILED
        ctx.profiles.add(job.profile, replace=True)
        if ctx.profiles.get_default() is None or args.default:
            ctx.profiles.set_default(job.profile.name)
        steps = await _steps_or_none(job.install(), stream,
                                     "fix it and run the same command again: finished steps are skipped")
        if steps is None:
            return exitcodes.FAILED
    finally:
        await setup.aclose()
    if ctx.tokens.fallback_notice:
        err(ctx.tokens.fallback_notice)
    if ctx.json:
        emit_json({"server": job.profile.model_dump(mode="json"), "steps": _steps_json(steps), "ok": True})
    else:
        print(f"server {profile.name} is ready: agent {job.wheel.version} on {profile.display_target}, "
              f"logged in as {job.options.admin_email}")
    return 0


async def inspect(ctx: Context, args: argparse.Namespace) -> int:
    setup = ServerSetup(ctx.profiles.get(args.name), ctx.tokens, **ctx.tunnel_kwargs())
    try:
        facts = await setup.inspect(args.prefix)
    finally:
        await setup.aclose()
    if ctx.json:
        emit_json({**facts.model_dump(mode="json"), "is_root": facts.is_root, "service_mode": facts.service_mode,
                   "local_agent_version": AGENT_VERSION})
        return 0
    print_facts(facts, sys.stdout)
    if facts.installed_version and compare_versions(facts.installed_version, AGENT_VERSION) > 0:
        print(f"note     the server's agent is newer than this bp ({AGENT_VERSION}): upgrade bp")
    return 0


async def upgrade(ctx: Context, args: argparse.Namespace) -> int:
    profile = ctx.profiles.get(args.name)
    stream = _out(ctx.json)
    setup = ServerSetup(profile, ctx.tokens, **ctx.tunnel_kwargs())
    try:
        try:
            job, reason = await _guard(setup.prepare_upgrade(force=args.force))
        except NothingToUpgrade as exc:
            emit_json({"upgraded": False, "message": str(exc)}) if ctx.json else print(exc)
            return 0
        print(f"upgrade: {reason}", file=stream)
        if not await _confirm(f"Upgrade the agent on {profile.name}? It restarts; apps keep running.", args):
            err("cancelled; nothing was changed")
            return exitcodes.FAILED
        steps = await _steps_or_none(job.upgrade(), stream,
                                     "the state directory is untouched; run `bp server upgrade` again to resume")
        if steps is None:
            return exitcodes.FAILED
    finally:
        await setup.aclose()
    if ctx.json:
        emit_json({"upgraded": True, "agent_version": job.wheel.version, "source_hash": job.wheel.source_hash,
                   "steps": _steps_json(steps), "apps": job.apps_after})
    else:
        print(f"agent on {profile.name} upgraded to {job.wheel.version} ({job.wheel.source_hash[:8]})")
    return 0


async def doctor(ctx: Context, args: argparse.Namespace) -> int:
    profile = ctx.profiles.get(args.name)
    checks = await ServerSetup(profile, ctx.tokens, **ctx.tunnel_kwargs()).diagnose()
    failed = any(c.status == "fail" for c in checks)
    if ctx.json:
        emit_json({"server": profile.name, "ok": not failed,
                   "checks": [{"name": c.name, "title": c.title, "status": c.status, "detail": c.detail,
                               "fix": c.fix} for c in checks]})
    else:
        width = max(len(c.title) for c in checks)
        for c in checks:
            print(f"{c.status.upper():<4}  {c.title:<{width}}  {c.detail}")
            if c.fix and c.status in ("warn", "fail"):
                print(f"{'':<4}  {'':<{width}}  fix: {c.fix}")
    return exitcodes.FAILED if failed else 0


def add_install_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("installing the agent over SSH")
    g.add_argument("--install", action="store_true", help="install (or resume installing) the agent on the server")
    g.add_argument("--admin-email", help="admin account created on the new agent")
    g.add_argument("--password-stdin", action="store_true", help="read the admin password from stdin")
    g.add_argument("--prefix", help="install folder (default /opt/basepod, or ~/.local/share/basepod-agent)")
    g.add_argument("--state-dir", help="agent state (default /var/lib/basepod, or PREFIX/state)")
    g.add_argument("--podman-url", help="Podman API the agent uses (default: found or started by the agent)")
    g.add_argument("--edge", metavar="HOST:PORT", help="serve the public edge API there")
    g.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")


def register(ssub: argparse._SubParsersAction) -> None:
    p = ssub.add_parser("inspect", help="what is on the server: OS, Python, Podman, systemd, disk, agent")
    p.add_argument("name")
    p.add_argument("--prefix", help="where to look for an installed agent")
    p.set_defaults(func=inspect)

    p = ssub.add_parser("upgrade", help="upgrade the server's agent to this bp's version, keeping its data")
    p.add_argument("name")
    p.add_argument("--force", action="store_true", help="reinstall and restart even when up to date")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=upgrade)

    p = ssub.add_parser("doctor", help="check SSH, agent, protocol, Podman, disk, clock; say how to fix")
    p.add_argument("name")
    p.set_defaults(func=doctor)
