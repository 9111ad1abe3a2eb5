"""Metrics as a time series in SQLite: raw samples, 1-minute, 10-minute and hourly roll-ups.

Each tick is one transaction: the raw rows, plus an upsert of the open roll-up
buckets of every sampled app. The open buckets are kept in memory (count,
sums, maxima), so a roll-up costs no read; a bucket is written on every tick, so the
coarse ranges are fresh and an agent restart resumes a bucket from its stored row.

Retention is pruned a few apps per tick, round robin, so one tick never pays for the
whole table: raw rows live an hour, 1-minute rows a day, 10-minute and hourly rows
``retention_days``. A range reads one resolution: at most 360 raw points (10 s tick),
1,440 minutes or 1,008 ten-minute buckets per app; dashboard sparklines read the next
coarser one (hourly rows for a week).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from sqlalchemy import text

from basepod_agent.protocol.metrics import MetricsRange, MetricsSeries, MetricsStats, SeriesStats
from basepod_agent.store.database import Database

RAW = 0
RESOLUTIONS = (60, 600, 3600)
RANGE_SECONDS = {MetricsRange.HOUR: 3600, MetricsRange.DAY: 86_400, MetricsRange.WEEK: 7 * 86_400}
RANGE_RES = {MetricsRange.HOUR: RAW, MetricsRange.DAY: 60, MetricsRange.WEEK: 600}
SPARK_RES = {MetricsRange.HOUR: 60, MetricsRange.DAY: 600, MetricsRange.WEEK: 3600}
KEEP_SECONDS = {RAW: 3600 + 120, 60: 86_400 + 600}
PRUNE_APPS_PER_TICK = 5
COLUMNS = ("n", "cpu", "cpu_max", "mem", "mem_max", "mem_limit", "rx", "tx", "rd", "wr", "pids")
_UPSERT = text(
    "INSERT OR REPLACE INTO metric_points (app_id, res, t, " + ", ".join(COLUMNS) + ") VALUES "
    "(:app_id, :res, :t, " + ", ".join(f":{c}" for c in COLUMNS) + ")")


@dataclass(frozen=True)
class Sample:
    """One app at one tick, already turned into percent and rates."""

    t: int
    cpu: float
    mem: int
    mem_limit: int | None
    rx: float
    tx: float
    rd: float
    wr: float
    pids: int


@dataclass
class Bucket:
    """Count, sums and maxima of the samples of one app in one roll-up window."""

    start: int
    n: int = 0
    cpu_sum: float = 0.0
    cpu_max: float = 0.0
    mem_sum: float = 0.0
    mem_max: int = 0
    mem_limit: int | None = None
    rx_sum: float = 0.0
    tx_sum: float = 0.0
    rd_sum: float = 0.0
    wr_sum: float = 0.0
    pids: int = 0

    def add(self, s: Sample) -> None:
        self.n += 1
        self.cpu_sum += s.cpu
        self.cpu_max = max(self.cpu_max, s.cpu)
        self.mem_sum += s.mem
        self.mem_max = max(self.mem_max, s.mem)
        self.mem_limit = s.mem_limit
        self.rx_sum, self.tx_sum = self.rx_sum + s.rx, self.tx_sum + s.tx
        self.rd_sum, self.wr_sum = self.rd_sum + s.rd, self.wr_sum + s.wr
        self.pids = max(self.pids, s.pids)

    def row(self, app_id: int, res: int) -> dict:
        n = self.n
        return {"app_id": app_id, "res": res, "t": self.start, "n": n, "cpu": self.cpu_sum / n,
                "cpu_max": self.cpu_max, "mem": self.mem_sum / n, "mem_max": self.mem_max,
                "mem_limit": self.mem_limit, "rx": self.rx_sum / n, "tx": self.tx_sum / n,
                "rd": self.rd_sum / n, "wr": self.wr_sum / n, "pids": self.pids}

    @classmethod
    def from_row(cls, start: int, r) -> Bucket:
        n = r.n
        return cls(start=start, n=n, cpu_sum=r.cpu * n, cpu_max=r.cpu_max, mem_sum=r.mem * n, mem_max=r.mem_max,
                   mem_limit=r.mem_limit, rx_sum=r.rx * n, tx_sum=r.tx * n, rd_sum=r.rd * n, wr_sum=r.wr * n,
                   pids=r.pids)


def raw_row(app_id: int, s: Sample) -> dict:
    return {"app_id": app_id, "res": RAW, "t": s.t, "n": 1, "cpu": s.cpu, "cpu_max": s.cpu, "mem": float(s.mem),
            "mem_max": s.mem, "mem_limit": s.mem_limit, "rx": s.rx, "tx": s.tx, "rd": s.rd, "wr": s.wr,
            "pids": s.pids}


class MetricsStore:
    def __init__(self, db: Database, retention_days: float = 14.0) -> None:
        self.db = db
        self.keep = {**KEEP_SECONDS, 600: int(retention_days * 86_400), 3600: int(retention_days * 86_400)}
        self._open: dict[tuple[int, int], Bucket] = {}
        self._prune_cursor = itertools.count()

    def app_ids(self) -> dict[str, int]:
        with self.db.session() as s:
            return {name: app_id for name, app_id in s.execute(text("SELECT name, id FROM apps"))}

    def write(self, samples: dict[str, Sample], now: float) -> None:
        """Runs in a worker thread: one transaction for a whole tick.

        Samples of apps unknown to the database (deleted meanwhile) are dropped.
        """
        with self.db.session() as s:
            ids = {name: app_id for name, app_id in s.execute(text("SELECT name, id FROM apps"))}
            rows = []
            for name, sample in samples.items():
                app_id = ids.get(name)
                if app_id is None:
                    continue
                rows.append(raw_row(app_id, sample))
                for res in RESOLUTIONS:
                    rows.append(self._bucket(s, app_id, res, sample).row(app_id, res))
            if rows:
                s.execute(_UPSERT, rows)
            self._prune(s, sorted(ids.values()), now)

    def _bucket(self, s, app_id: int, res: int, sample: Sample) -> Bucket:
        start = sample.t - sample.t % res
        bucket = self._open.get((app_id, res))
        if bucket is None or bucket.start != start:
            stored = None
            if bucket is None:  # first sample since the agent started: resume the stored bucket
                stored = s.execute(text(f"SELECT {', '.join(COLUMNS)} FROM metric_points "
                                        "WHERE app_id = :a AND res = :r AND t = :t"),
                                   {"a": app_id, "r": res, "t": start}).first()
            bucket = Bucket.from_row(start, stored) if stored is not None else Bucket(start)
            self._open[(app_id, res)] = bucket
        bucket.add(sample)
        return bucket

    def _prune(self, s, app_ids: list[int], now: float) -> None:
        if not app_ids:
            return
        first = next(self._prune_cursor) * PRUNE_APPS_PER_TICK
        for i in range(min(PRUNE_APPS_PER_TICK, len(app_ids))):
            app_id = app_ids[(first + i) % len(app_ids)]
            for res, keep in self.keep.items():
                s.execute(text("DELETE FROM metric_points WHERE app_id = :a AND res = :r AND t < :before"),
                          {"a": app_id, "r": res, "before": int(now - keep)})
        live = set(app_ids)
        for key in [k for k in self._open if k[0] not in live]:
            del self._open[key]

    # --- reads ---------------------------------------------------------------------------

    def series(self, app_id: int, range_: MetricsRange, now: float) -> tuple[int, MetricsSeries, MetricsStats]:
        """(resolution, series, stats) of one app over a range, oldest first."""
        res = RANGE_RES[range_]
        since = int(now - RANGE_SECONDS[range_])
        with self.db.session() as s:
            rows = s.connection().exec_driver_sql(
                "SELECT t, n, cpu, cpu_max, mem, mem_max, mem_limit, rx, tx, rd, wr, pids FROM metric_points "
                "WHERE app_id = ? AND res = ? AND t >= ? ORDER BY t", (app_id, res, since)).fetchall()
        cols = list(zip(*rows)) if rows else [()] * 12
        t, n, cpu, cpu_max, mem, mem_max, mem_limit, rx, tx, rd, wr, pids = cols
        series = MetricsSeries.model_construct(
            t=list(t), cpu=list(cpu), cpu_max=list(cpu_max), memory=list(mem), memory_max=list(mem_max),
            memory_limit=list(mem_limit), net_rx=list(rx), net_tx=list(tx), block_read=list(rd),
            block_write=list(wr), pids_max=list(pids))
        stats = MetricsStats(
            cpu=_stats(n, cpu, cpu_max), memory=_stats(n, mem, mem_max), net_rx=_stats(n, rx, rx),
            net_tx=_stats(n, tx, tx), block_read=_stats(n, rd, rd), block_write=_stats(n, wr, wr))
        return (res or 0), series, stats

    def sparklines(self, app_ids: list[int], range_: MetricsRange, now: float, points: int
                   ) -> tuple[int, dict[int, tuple[list[int], list[float], list[float]]]]:
        """Sample-weighted CPU and memory averages of many apps in ``points`` buckets, one query.

        Read from a resolution a step coarser than the range's own (hourly rows for a
        week), so 100 apps cost thousands of rows, not a hundred thousand.
        """
        span = RANGE_SECONDS[range_]
        bucket = max(60, span // points)
        since = int(now - span)
        out: dict[int, tuple[list[int], list[float], list[float]]] = {i: ([], [], []) for i in app_ids}
        if not app_ids:
            return bucket, out
        marks = ",".join("?" * len(app_ids))
        with self.db.session() as s:
            rows = s.connection().exec_driver_sql(
                f"SELECT app_id, t / ? * ? AS b, sum(cpu * n) / sum(n), sum(mem * n) / sum(n) FROM metric_points "
                f"WHERE app_id IN ({marks}) AND res = ? AND t >= ? GROUP BY app_id, b ORDER BY app_id, b",
                (bucket, bucket, *app_ids, SPARK_RES[range_], since)).fetchall()
        for app_id, b, cpu, mem in rows:
            t, c, m = out[app_id]
            t.append(b)
            c.append(round(cpu, 3))
            m.append(round(mem))
        return bucket, out


def _stats(n, avg, peak) -> SeriesStats:
    total = sum(n)
    if not total:
        return SeriesStats()
    mean = math.fsum(a * k for a, k in zip(avg, n)) / total
    return SeriesStats(current=avg[-1], avg=mean, max=max(peak))
