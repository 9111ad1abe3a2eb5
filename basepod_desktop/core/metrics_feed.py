"""The desktop's view of metrics, Qt-free: sparklines per app, live ticks, usage vs limit.

The dashboard asks the agent for one summary of all apps (a few dozen points each) and
then keeps it current from the ``MetricsTick`` events every collector tick brings, so
sparklines move without polling. Usage levels (amber from 80 %, red from 95 % of the
limit) are decided here so every widget colours them alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from basepod_agent.protocol import AppInfo, AppSample, AppSparkline, MetricsRange, MetricsSummary, MetricsTick

WARN_RATIO = 0.80
DANGER_RATIO = 0.95


def usage_level(used: Optional[float], limit: Optional[float]) -> Optional[str]:
    """"ok", "warning" or "danger" against a limit; None when there is no limit to compare with."""
    if used is None or not limit:
        return None
    ratio = used / limit
    return "danger" if ratio >= DANGER_RATIO else "warning" if ratio >= WARN_RATIO else "ok"


def memory_limit(app: Optional[AppInfo], sample: Optional[AppSample]) -> Optional[int]:
    """The cap the agent reports for the app, else the one Podman enforces on the container."""
    if app is not None and app.limits.memory_bytes:
        return app.limits.memory_bytes
    return sample.memory_limit_bytes if sample is not None else None


def cpu_limit(app: Optional[AppInfo], line: Optional[AppSparkline]) -> Optional[float]:
    if app is not None and app.limits.cpus:
        return app.limits.cpus
    return line.cpu_limit if line is not None else None


@dataclass
class Usage:
    """What a dashboard cell shows: the line, the current value and how it compares to the cap."""

    values: list[float]
    current: Optional[float]
    limit: Optional[float]
    level: Optional[str]
    text: str
    scale: Optional[float] = None  # the sparkline's top: the limit, else one core for CPU


def human_bytes(value: float) -> str:
    """Three significant digits at most: ``348 KiB``, ``8.0 MiB``, ``1.25 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            if unit == "B" or value >= 100:
                return f"{value:.0f} {unit}"
            return f"{value:.1f} {unit}" if value >= 10 else f"{value:.2f} {unit}".replace(".00 ", ".0 ")
        value /= 1024
    return ""  # pragma: no cover


def cpu_usage(line: Optional[AppSparkline], app: Optional[AppInfo]) -> Usage:
    current = line.current.cpu_percent if line is not None and line.current is not None else None
    cap = cpu_limit(app, line)
    limit = cap * 100 if cap else None
    text = "—" if current is None else f"{current:.1f}%" + (f" of {cap:g} CPU" if cap else "")
    return Usage(list(line.cpu) if line else [], current, limit, usage_level(current, limit), text, limit or 100.0)


def memory_usage(line: Optional[AppSparkline], app: Optional[AppInfo]) -> Usage:
    sample = line.current if line is not None else None
    current = float(sample.memory_bytes) if sample is not None else None
    limit = memory_limit(app, sample)
    text = "—" if current is None else (f"{current / limit * 100:.0f}% of {human_bytes(limit)}" if limit
                                         else human_bytes(current))
    values = list(line.memory) if line else []
    scale = limit or (max(values) * 1.25 if values else None)
    return Usage(values, current, limit, usage_level(current, limit), text, scale)


class MetricsFeed:
    """One server's sparklines for the selected range, kept live from ticks."""

    def __init__(self) -> None:
        self.range = MetricsRange.HOUR
        self.bucket_seconds = 60
        self.lines: dict[str, AppSparkline] = {}

    def set_summary(self, summary: MetricsSummary) -> None:
        self.range, self.bucket_seconds = summary.range, summary.bucket_seconds
        self.lines = {line.app: line for line in summary.apps}

    def clear(self) -> None:
        self.lines = {}

    def apply_tick(self, tick: MetricsTick) -> set[str]:
        """Fold a tick into the lines: the current value, and the open bucket's running average.

        Returns the apps whose cells changed (those that stopped lose their current value).
        """
        t = int(tick.at.timestamp())
        bucket = t - t % self.bucket_seconds
        seen = set()
        for sample in tick.samples:
            line = self.lines.get(sample.app)
            if line is None:
                line = self.lines[sample.app] = AppSparkline(app=sample.app)
            line.current = sample
            seen.add(sample.app)
            if line.t and line.t[-1] == bucket:
                weight = int((t - bucket) / tick.interval_seconds) + 1  # samples in the bucket so far
                line.cpu[-1] += (sample.cpu_percent - line.cpu[-1]) / weight
                line.memory[-1] += (sample.memory_bytes - line.memory[-1]) / weight
            elif not line.t or line.t[-1] < bucket:
                line.t.append(bucket)
                line.cpu.append(sample.cpu_percent)
                line.memory.append(float(sample.memory_bytes))
        stopped = {name for name, line in self.lines.items() if line.current is not None and name not in seen}
        for name in stopped:
            self.lines[name].current = None
        return seen | stopped


def with_gaps(t: list[int], values: list[float], step: float) -> tuple[list[float], list[float]]:
    """NaN between points further apart than two steps, so a plot shows the gap (app stopped, agent down)."""
    xs: list[float] = []
    ys: list[float] = []
    for i, (x, y) in enumerate(zip(t, values)):
        if i and x - t[i - 1] > 2 * step:
            xs.append((x + t[i - 1]) / 2)
            ys.append(math.nan)
        xs.append(float(x))
        ys.append(float(y) if y is not None else math.nan)
    return xs, ys
