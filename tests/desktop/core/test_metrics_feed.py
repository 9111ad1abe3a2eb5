"""The desktop's metrics feed (Qt-free): usage levels, live ticks folded into sparklines,
gaps in plotted series."""

from __future__ import annotations

import math
from datetime import datetime, timezone

from basepod_agent.protocol import AppInfo, AppSample, AppSparkline, AppStatus, MetricsSummary, MetricsTick
from basepod_desktop.core.metrics_feed import MetricsFeed, cpu_usage, memory_usage, usage_level, with_gaps


def sample(app, cpu, mem=1000, limit=None):
    return AppSample(app=app, cpu_percent=cpu, memory_bytes=mem, memory_limit_bytes=limit, net_rx_bps=0,
                     net_tx_bps=0, block_read_bps=0, block_write_bps=0, pids=1)


def tick(at, *samples):
    return MetricsTick(at=datetime.fromtimestamp(at, tz=timezone.utc), interval_seconds=10, samples=list(samples))


def test_usage_turns_amber_at_80_and_red_at_95_percent_of_the_limit():
    assert [usage_level(v, 100) for v in (10, 79.9, 80, 94.9, 95, 120)] == \
        ["ok", "ok", "warning", "warning", "danger", "danger"]
    assert usage_level(50, None) is None and usage_level(None, 100) is None


def test_ticks_update_the_current_value_and_average_into_the_open_bucket():
    feed = MetricsFeed()
    feed.set_summary(MetricsSummary(range="1h", bucket_seconds=60, interval_seconds=10, apps=[
        AppSparkline(app="a", t=[0, 60], cpu=[10.0, 20.0], memory=[100.0, 200.0]),
        AppSparkline(app="b", t=[60], cpu=[1.0], memory=[1.0], current=sample("b", 1.0))]))
    assert feed.apply_tick(tick(70, sample("a", 40.0, 400))) == {"a", "b"}  # b stopped
    line = feed.lines["a"]
    assert line.t == [0, 60] and line.cpu[-1] == 30.0 and line.memory[-1] == 300.0  # 2 samples in the bucket
    assert feed.lines["b"].current is None
    feed.apply_tick(tick(125, sample("a", 5.0), sample("c", 7.0)))
    assert line.t == [0, 60, 120] and line.cpu[-1] == 5.0 and feed.lines["c"].cpu == [7.0]


def test_limits_come_from_the_app_first_then_from_podman():
    app = AppInfo(name="a", image="i", port=1, host_port=2, command=None, status=AppStatus.RUNNING,
                  created_at=datetime.now(timezone.utc), limits={"cpus": 0.5, "memory_bytes": 1000})
    line = AppSparkline(app="a", current=sample("a", 42.0, 900, limit=5000))
    assert cpu_usage(line, app).level == "warning" and cpu_usage(line, app).text == "42.0% of 0.5 CPU"
    assert memory_usage(line, app).limit == 1000 and memory_usage(line, None).limit == 5000
    assert memory_usage(line, app).level == "warning"


def test_plotted_series_break_where_points_are_missing():
    xs, ys = with_gaps([0, 10, 20, 100, 110], [1, 2, 3, 4, None], 10)
    assert xs == [0, 10, 20, 60, 100, 110] and math.isnan(ys[3]) and math.isnan(ys[5]) and ys[4] == 4
