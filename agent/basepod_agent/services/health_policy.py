"""The health-check decisions, free of I/O so they are tested without Podman or HTTP.

``Schedule`` puts every probe of an app on a fixed grid (origin + k * interval): a late
tick never pushes the following ones back, so lateness does not accumulate as apps are
added. ``RestartGuard`` is the crash-loop guard: restarts back off exponentially and stop
after ``max_restarts`` within the window. ``Verdict`` turns one observation into a
status, a reason and whether to restart.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

from basepod_agent.protocol.health import HealthConfig
from basepod_agent.protocol.health_status import HealthStatus

BACKOFF_CAP = 300.0


class Schedule:
    def __init__(self, origin: float, interval: float) -> None:
        self.origin, self.interval = origin, interval

    @classmethod
    def staggered(cls, name: str, now: float, interval: float) -> Schedule:
        """Spread apps over the interval by a stable hash of the name, so 200 apps with
        the same interval do not all probe in the same millisecond."""
        offset = (zlib.crc32(name.encode()) / 2**32) * interval
        return cls(now + offset, interval)

    def first(self, now: float) -> float:
        return self.origin if self.origin >= now else self.next_after(now)

    def next_after(self, moment: float) -> float:
        """The first grid point strictly after ``moment`` (missed ticks are skipped, not bunched)."""
        k = math.floor((moment - self.origin) / self.interval) + 1
        return self.origin + k * self.interval


@dataclass
class RestartGuard:
    max_restarts: int
    window: float
    backoff_base: float
    restarts: list[float] = field(default_factory=list)  # wall-clock times, persisted

    def recent(self, now: float) -> list[float]:
        return [t for t in self.restarts if now - t < self.window]

    def decide(self, now: float) -> tuple[str, float]:
        """("restart", 0) | ("wait", seconds left) | ("give_up", 0)."""
        recent = self.recent(now)
        if len(recent) >= self.max_restarts:
            return "give_up", 0.0
        if recent:
            gap = min(BACKOFF_CAP, self.backoff_base * 2 ** (len(recent) - 1))
            left = recent[-1] + gap - now
            if left > 0:
                return "wait", left
        return "restart", 0.0

    def record(self, now: float) -> None:
        self.restarts = [*self.recent(now), now]


@dataclass
class Observation:
    """One tick: whether the container runs, and the probe result if it was probed."""

    running: bool
    ok: bool = False
    detail: str = ""  # "HTTP 500", "connection refused", "exited (code 1)"
    started_at: float | None = None  # container start, wall clock


@dataclass
class Outcome:
    status: HealthStatus
    reason: str
    restart: bool = False


@dataclass
class AppHealthState:
    """Per-app state the loop keeps between ticks (and persists on transitions)."""

    config: HealthConfig
    guard: RestartGuard
    status: HealthStatus = HealthStatus.YELLOW
    reason: str = "waiting for the first probe"
    failures: int = 0
    gave_up: bool = False
    grace_until: float = 0.0

    @classmethod
    def fresh(cls, config: HealthConfig, restarts: list[float] | None = None) -> AppHealthState:
        guard = RestartGuard(config.max_restarts, config.restart_window_seconds,
                             config.interval_seconds, list(restarts or []))
        return cls(config=config, guard=guard)

    def in_grace(self, obs: Observation, now: float) -> bool:
        started = (obs.started_at or 0.0) + self.config.grace_seconds
        return now < max(self.grace_until, started)

    def observe(self, obs: Observation, now: float) -> Outcome:
        cfg = self.config
        if obs.running and obs.ok:
            self.failures, self.gave_up = 0, False
            return Outcome(HealthStatus.GREEN, f"healthy ({obs.detail})")
        if self.in_grace(obs, now):
            return Outcome(HealthStatus.YELLOW, f"starting ({obs.detail})")
        self.failures += 1
        if obs.running and self.failures < cfg.failure_threshold:
            return Outcome(HealthStatus.YELLOW, f"failing ({self.failures}/{cfg.failure_threshold}): {obs.detail}")
        what = f"unhealthy: {self.failures} consecutive failures ({obs.detail})" if obs.running \
            else f"down: {obs.detail}"
        if self.gave_up:
            return Outcome(HealthStatus.RED, self._gave_up_reason(now))
        if not cfg.auto_restart or self.failures < cfg.failure_threshold:
            return Outcome(HealthStatus.RED, what)
        decision, left = self.guard.decide(now)
        if decision == "give_up":
            self.gave_up = True
            return Outcome(HealthStatus.RED, self._gave_up_reason(now))
        if decision == "wait":
            return Outcome(HealthStatus.RED, f"{what}; next restart in {math.ceil(left)} s (backoff)")
        return Outcome(HealthStatus.RED, what, restart=True)

    def _gave_up_reason(self, now: float) -> str:
        count = len(self.guard.recent(now)) or self.config.max_restarts
        return (f"crash loop: restarted {count} times within {self.config.restart_window_seconds:g} s; "
                "auto-restart stopped (start or restart the app to try again)")

    def restarted(self, now: float) -> None:
        self.guard.record(now)
        self.failures = 0
        self.grace_until = now + self.config.grace_seconds

    def reset(self, now: float) -> None:
        """A person started, restarted or applied the app: a fresh chance."""
        self.failures, self.gave_up = 0, False
        self.guard.restarts.clear()
        self.grace_until = now + self.config.grace_seconds
        self.status, self.reason = HealthStatus.YELLOW, "starting"
