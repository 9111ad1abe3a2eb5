"""``bp limits NAME [--cpus N] [--memory SIZE] [--clear]``: an app's CPU and memory caps."""

from __future__ import annotations

import argparse

from basepod_agent.protocol import LimitsApplied, LimitsUpdate, LimitsView, format_memory
from basepod_desktop.cli.context import Context
from basepod_desktop.cli.output import emit_json
from basepod_desktop.core.limits import cpus_line, memory_line, update_from

_APPLIED = {
    LimitsApplied.IN_PLACE: "applied to the running container",
    LimitsApplied.RECREATED: "container recreated with the new limits",
    LimitsApplied.UNCHANGED: "the container already runs with these limits",
    LimitsApplied.NO_CONTAINER: "applies when the container is next created",
}


def _show(view: LimitsView) -> None:
    print(f"{view.app}:")
    print(f"  cpus    {cpus_line(view)}")
    print(f"  memory  {memory_line(view)}")
    defaults = [f"cpus {view.default_cpus:g}" if view.default_cpus is not None else "cpus no cap",
                f"memory {format_memory(view.default_memory_bytes)}" if view.default_memory_bytes is not None
                else "memory no cap"]
    print(f"  server defaults: {', '.join(defaults)}; {view.host_cpus} CPUs on the server")
    if view.applied is not None:
        print(f"  {_APPLIED[view.applied]}")


def build_update(args: argparse.Namespace) -> LimitsUpdate | None:
    if args.clear:
        if args.cpus is not None or args.memory is not None:
            raise ValueError("--clear drops both overrides: do not combine it with --cpus or --memory")
        return LimitsUpdate(cpus=None, memory=None)
    if args.cpus is None and args.memory is None:
        return None
    return update_from(args.cpus, args.memory)


async def limits(ctx: Context, args: argparse.Namespace) -> int:
    update = build_update(args)
    session = await ctx.session()
    try:
        if update is None:
            view = await session.client.get_limits(args.name)
        else:
            view = await session.client.put_limits(args.name, update)
    finally:
        await session.aclose()
    if ctx.json:
        emit_json(view)
    else:
        _show(view)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("limits", help="show or set an app's CPU and memory caps")
    p.add_argument("name")
    p.add_argument("--cpus", help='CPU cores, e.g. 0.5; "unlimited" for no cap, "default" for the server default')
    p.add_argument("--memory", help='e.g. 256M or 1G; "unlimited" for no cap, "default" for the server default')
    p.add_argument("--clear", action="store_true", help="drop the app's overrides: the server defaults apply")
    p.set_defaults(func=limits)
