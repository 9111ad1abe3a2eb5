"""``bp metrics NAME [--range 24h]`` (current, average, maximum) and ``bp alerts NAME [set|off|default]``."""

from __future__ import annotations

import argparse
import re

from basepod_agent.protocol import AlertConfig, AlertReport, AlertSettings, AppMetrics, MetricsRange, SeriesStats
from basepod_desktop.cli.context import Context
from basepod_desktop.cli.output import emit_json, table

_UNITS = {"s": 1, "m": 60, "h": 3600}


def human_bytes(value: float | None, suffix: str = "") -> str:
    if value is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}{suffix}" if unit == "B" else f"{value:.1f} {unit}{suffix}"
        value /= 1024
    return "-"  # pragma: no cover


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def parse_duration(text: str) -> int:
    match = re.fullmatch(r"(\d+)([smh]?)", text.strip())
    if not match:
        raise ValueError(f"--for {text!r} must look like 300, 90s, 5m or 1h")
    return int(match.group(1)) * _UNITS[match.group(2) or "s"]


def _row(label: str, stats: SeriesStats, fmt, limit: str = "") -> tuple[str, ...]:
    return (label, fmt(stats.current), fmt(stats.avg), fmt(stats.max), limit)


def _show_metrics(m: AppMetrics) -> None:
    points = len(m.series.t)
    print(f"{m.app}: last {m.range.value}, {points} points of {m.resolution_seconds} s"
          + ("" if m.current else " (not running now)"))
    if not points and m.current is None:
        print("no metrics yet: they appear one collector tick after the app starts")
        return
    s = m.stats
    memory_limit = m.current.memory_limit_bytes if m.current else None
    cpu_cap = f"{m.cpu_limit:g} cores" if m.cpu_limit else "uncapped"
    mem_cap = human_bytes(memory_limit) if memory_limit else "uncapped"
    if memory_limit and m.current:
        mem_cap += f" ({m.current.memory_bytes / memory_limit * 100:.0f}% used)"
    rate = lambda v: human_bytes(v, "/s")  # noqa: E731
    rows = [_row("cpu", s.cpu, percent, cpu_cap), _row("memory", s.memory, human_bytes, mem_cap),
            _row("net rx", s.net_rx, rate), _row("net tx", s.net_tx, rate),
            _row("block read", s.block_read, rate), _row("block write", s.block_write, rate)]
    print(table(("", "CURRENT", "AVG", "MAX", "LIMIT"), rows))


async def metrics(ctx: Context, args: argparse.Namespace) -> int:
    session = await ctx.session()
    try:
        result = await session.client.metrics(args.name, MetricsRange(args.range))
    finally:
        await session.aclose()
    if ctx.json:
        emit_json(result)
    else:
        _show_metrics(result)
    return 0


def _describe(c: AlertConfig) -> str:
    if not c.enabled or (c.cpu_percent is None and c.memory_percent is None):
        return "off"
    parts = [f"{name} above {value:g}%" for name, value in (("cpu", c.cpu_percent), ("memory", c.memory_percent))
             if value is not None]
    return f"{' or '.join(parts)} for {c.for_seconds} s"


def _show_alerts(r: AlertReport) -> None:
    print(f"{r.app}: {_describe(r.config)}" + (" (server defaults)" if r.inherited else ""))
    for a in r.active:
        print(f"ACTIVE: {a.metric} over {a.threshold:g}% since {a.fired_at:%Y-%m-%d %H:%M:%S} (peak {a.value:.0f}%)")
    if r.recent:
        rows = [(a.fired_at.strftime("%Y-%m-%d %H:%M:%S"), a.metric, f"{a.threshold:g}%", f"{a.value:.0f}%",
                 a.cleared_at.strftime("%H:%M:%S") if a.cleared_at else "active") for a in r.recent[:10]]
        print("\n" + table(("FIRED", "METRIC", "THRESHOLD", "PEAK", "CLEARED"), rows))


def settings_from(report: AlertReport, verb: str, args: argparse.Namespace) -> AlertSettings:
    if verb == "default":
        return AlertSettings(inherit=True)
    if verb == "off":
        return AlertSettings(config=report.config.model_copy(update={"enabled": False}))
    changes: dict = {"enabled": True}
    if args.cpu is not None:
        changes["cpu_percent"] = args.cpu or None
    if args.memory is not None:
        changes["memory_percent"] = args.memory or None
    if args.hold is not None:
        changes["for_seconds"] = parse_duration(args.hold)
    return AlertSettings(config=AlertConfig.model_validate({**report.config.model_dump(), **changes}))


async def alerts(ctx: Context, args: argparse.Namespace) -> int:
    name, *rest = args.words
    verb = rest[0] if rest else None
    if len(rest) > 1 or verb not in (None, "set", "off", "default"):
        raise ValueError("usage: bp alerts NAME [set --cpu 90 --memory 90 --for 5m | off | default]")
    if verb != "set" and any(getattr(args, o) is not None for o in ("cpu", "memory", "hold")):
        raise ValueError("--cpu, --memory and --for go with: bp alerts NAME set ...")
    session = await ctx.session()
    try:
        report = await session.client.get_alerts(name)
        if verb is not None:
            report = await session.client.put_alerts(name, settings_from(report, verb, args))
    finally:
        await session.aclose()
    if ctx.json:
        emit_json(report)
    else:
        _show_alerts(report)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("metrics", help="an app's CPU, memory, network and block I/O: current, average, maximum")
    p.add_argument("name")
    p.add_argument("--range", choices=[r.value for r in MetricsRange], default="1h")
    p.set_defaults(func=metrics)
    a = sub.add_parser("alerts", help="show or set an app's CPU/memory alert thresholds",
                       usage="bp alerts NAME [set --cpu PCT --memory PCT --for 5m | off | default]")
    a.add_argument("words", nargs="+", metavar="NAME [set|off|default]")
    a.add_argument("--cpu", type=float, help="percent of the app's CPU limit (or of the host); 0 unsets")
    a.add_argument("--memory", type=float, help="percent of the app's memory limit (or of the host); 0 unsets")
    a.add_argument("--for", dest="hold", help="how long the value must stay above, e.g. 5m (also to clear)")
    a.set_defaults(func=alerts)
