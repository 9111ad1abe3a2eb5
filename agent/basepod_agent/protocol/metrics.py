"""Resource metrics (issue #7): samples, stored series, the dashboard summary and alerts.

Series are columnar (one list per measure, ``t`` holding bucket starts in unix seconds):
a week of 10-minute points for 100 apps is then a few hundred KiB of plain numbers, not
100,000 small objects to validate on each side.

CPU is in percent of one core (Podman's convention: an app using two full cores shows
200). Memory and I/O are bytes; network and block I/O are rates in bytes per second.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Literal

from pydantic import BaseModel, Field, model_validator


class MetricsRange(str, Enum):
    HOUR = "1h"
    DAY = "24h"
    WEEK = "7d"


class AppSample(BaseModel):
    """One app's usage at one collector tick (what ``MetricsTick`` pushes live)."""

    app: str
    cpu_percent: float
    memory_bytes: int
    memory_limit_bytes: int | None = Field(None, description="None: no memory cap (the host's memory)")
    net_rx_bps: float
    net_tx_bps: float
    block_read_bps: float
    block_write_bps: float
    pids: int


class MetricsSeries(BaseModel):
    """Averages and maxima per bucket of ``resolution_seconds`` (raw points: one sample each)."""

    t: list[int] = []
    cpu: list[float] = []
    cpu_max: list[float] = []
    memory: list[float] = []
    memory_max: list[int] = []
    memory_limit: list[int | None] = []
    net_rx: list[float] = []
    net_tx: list[float] = []
    block_read: list[float] = []
    block_write: list[float] = []
    pids_max: list[int] = []


class SeriesStats(BaseModel):
    """Current value, sample-weighted average and maximum of one measure over the range."""

    current: float | None = None
    avg: float | None = None
    max: float | None = None


class MetricsStats(BaseModel):
    cpu: SeriesStats = SeriesStats()
    memory: SeriesStats = SeriesStats()
    net_rx: SeriesStats = SeriesStats()
    net_tx: SeriesStats = SeriesStats()
    block_read: SeriesStats = SeriesStats()
    block_write: SeriesStats = SeriesStats()


class AppMetrics(BaseModel):
    app: str
    range: MetricsRange
    resolution_seconds: int
    interval_seconds: float = Field(description="the collector's tick")
    series: MetricsSeries
    stats: MetricsStats
    current: AppSample | None = Field(None, description="the latest sample; None when the app is not running")
    cpu_limit: float | None = Field(None, description="CPU cores the container may use; None: uncapped")


class AppSparkline(BaseModel):
    """A few dozen averaged points per app: enough for a dashboard row."""

    app: str
    t: list[int] = []
    cpu: list[float] = []
    memory: list[float] = []
    current: AppSample | None = None
    cpu_limit: float | None = None


class MetricsSummary(BaseModel):
    range: MetricsRange
    bucket_seconds: int
    interval_seconds: float
    apps: list[AppSparkline]


class AlertConfig(BaseModel):
    """Raise an alert when CPU or memory stays above a share of what the app may use.

    Percent of the app's limit when it has one, else of the host (all cores, all memory).
    A threshold of None watches nothing. The alert clears once the value stays below
    90 % of the threshold for ``for_seconds`` too, so a value hovering at the line does
    not flap.
    """

    enabled: bool = True
    cpu_percent: float | None = Field(None, gt=0, le=100)
    memory_percent: float | None = Field(None, gt=0, le=100)
    for_seconds: int = Field(300, ge=0, le=86_400)


class AlertSettings(BaseModel):
    """``PUT /api/apps/{name}/alerts``: this app's own settings; ``inherit`` goes back to the defaults."""

    inherit: bool = False
    config: AlertConfig | None = None

    @model_validator(mode="after")
    def _one(self) -> AlertSettings:
        if not self.inherit and self.config is None:
            raise ValueError("give config, or inherit: true")
        return self


AlertMetric = Literal["cpu", "memory"]
AlertState = Literal["fired", "cleared"]


class AlertRecord(BaseModel):
    metric: AlertMetric
    threshold: float
    value: float = Field(description="percent when it fired; the peak while it was active")
    fired_at: datetime
    cleared_at: datetime | None = None


class AlertReport(BaseModel):
    app: str
    config: AlertConfig = Field(description="what is in force: the app's own or the defaults")
    inherited: bool
    defaults: AlertConfig
    active: list[AlertRecord] = []
    recent: list[AlertRecord] = Field([], description="newest first")
