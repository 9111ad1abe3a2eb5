"""Roll-ups on a real SQLite database: averages, maxima and counts survive the 1-minute and
10-minute resolutions (and an agent restart in the middle of a bucket), ranges read the
right resolution, sparklines are sample-weighted, and retention bounds the table."""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timezone

import pytest

from basepod_agent.protocol.metrics import MetricsRange
from basepod_agent.services.metrics_store import PRUNE_APPS_PER_TICK, MetricsStore, Sample
from basepod_agent.store.database import Database

T0 = 1_800_000_000 - 1_800_000_000 % 600  # a 10-minute boundary


def sample(t: int, cpu: float, mem: int, pids: int = 1) -> Sample:
    return Sample(t=t, cpu=cpu, mem=mem, mem_limit=None, rx=cpu * 10, tx=1.0, rd=0.0, wr=2.0, pids=pids)


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "agent.db")
    database.migrate()
    with sqlite3.connect(tmp_path / "agent.db") as conn:
        now = datetime.now(timezone.utc).isoformat(" ")
        for i, name in enumerate(["a", "b", "c", "d", "e", "f", "g"]):
            conn.execute("INSERT INTO apps (name, image, port, host_port, desired_state, created_at, updated_at) "
                         "VALUES (?, 'img', 80, ?, 'running', ?, ?)", (name, 20000 + i, now, now))
    yield database
    database.close()


def rows(db, res):
    with sqlite3.connect(db.path) as conn:
        return conn.execute("SELECT t, n, cpu, cpu_max, mem, mem_max, rx, pids FROM metric_points "
                            "WHERE res = ? ORDER BY t", (res,)).fetchall()


def feed(store, samples):
    for s in samples:
        store.write({"a": s}, s.t)


def test_minute_and_ten_minute_buckets_keep_average_maximum_and_count(db):
    rng = random.Random(7)
    samples = [sample(T0 + i * 10, rng.uniform(0, 200), rng.randrange(10**6, 10**8), rng.randrange(1, 9))
               for i in range(130)]  # 21 min 40 s: three 10-minute buckets, 22 minutes
    feed(MetricsStore(db), samples)
    for res in (60, 600, 3600):
        buckets = rows(db, res)
        assert sum(b[1] for b in buckets) == len(samples)
        for t, n, cpu, cpu_max, mem, mem_max, rx, pids in buckets:
            inside = [s for s in samples if t <= s.t < t + res]
            assert n == len(inside)
            assert cpu == pytest.approx(sum(s.cpu for s in inside) / n)
            assert cpu_max == max(s.cpu for s in inside) and mem_max == max(s.mem for s in inside)
            assert mem == pytest.approx(sum(s.mem for s in inside) / n) and pids == max(s.pids for s in inside)
            assert rx == pytest.approx(sum(s.rx for s in inside) / n)
    assert len(rows(db, 60)) == 22 and len(rows(db, 600)) == 3


def test_every_range_reports_the_same_weighted_average_and_maximum(db):
    rng = random.Random(3)
    # Uneven buckets: a gap and a burst, so an unweighted mean of buckets would be wrong.
    times = [T0 + i * 10 for i in range(30)] + [T0 + 1800 + i for i in range(0, 300, 2)]
    samples = [sample(t, rng.uniform(0, 100), rng.randrange(10**6, 10**7)) for t in times]
    feed(MetricsStore(db), samples)
    now = samples[-1].t + 1
    mean, peak = sum(s.cpu for s in samples) / len(samples), max(s.cpu for s in samples)
    store = MetricsStore(db)
    for range_, res in ((MetricsRange.HOUR, 0), (MetricsRange.DAY, 60), (MetricsRange.WEEK, 600)):
        got_res, series, stats = store.series(1, range_, now)
        assert got_res == res
        assert stats.cpu.avg == pytest.approx(mean) and stats.cpu.max == pytest.approx(peak)
        assert stats.memory.max == max(s.mem for s in samples)
        assert series.t == sorted(series.t)
    assert len(store.series(1, MetricsRange.HOUR, now)[1].t) == len(samples)


def test_a_bucket_interrupted_by_an_agent_restart_resumes_from_its_stored_row(db):
    samples = [sample(T0 + i * 10, float(i), 1000 + i) for i in range(12)]
    feed(MetricsStore(db), samples[:4])
    feed(MetricsStore(db), samples[4:])  # a new agent process: empty in-memory buckets
    minute = rows(db, 60)
    assert [(b[0], b[1]) for b in minute] == [(T0, 6), (T0 + 60, 6)]
    assert minute[0][2] == pytest.approx(sum(range(6)) / 6) and minute[0][3] == 5.0
    assert rows(db, 600)[0][1:4] == (12, pytest.approx(5.5), 11.0)


def test_sparklines_average_many_apps_into_few_buckets_in_one_query(db):
    store = MetricsStore(db)
    for i in range(360):
        store.write({"a": sample(T0 + i * 10, 10.0, 100), "b": sample(T0 + i * 10, float(i % 2) * 50, 200)},
                    T0 + i * 10)
    bucket, lines = store.sparklines([1, 2, 3], MetricsRange.HOUR, T0 + 3600, 30)
    assert bucket == 120
    assert len(lines[1][0]) == 30 and set(lines[1][1]) == {10.0} and set(lines[2][1]) == {25.0}
    assert lines[3] == ([], [], [])


def test_retention_prunes_a_few_apps_per_tick_and_bounds_the_table(db):
    store = MetricsStore(db, retention_days=1)
    names = ["a", "b", "c", "d", "e", "f", "g"]
    step = 300
    for i in range(2 * 86_400 // step):  # two days at one sample per 5 minutes
        t = T0 + i * step
        store.write({n: sample(t, 1.0, 1) for n in names}, t)
    now = T0 + 2 * 86_400
    with sqlite3.connect(db.path) as conn:
        oldest = dict(conn.execute("SELECT res, min(t) FROM metric_points GROUP BY res").fetchall())
        per_app = conn.execute("SELECT count(*) FROM metric_points WHERE app_id = 1").fetchone()[0]
    ticks_per_round = -(-len(names) // PRUNE_APPS_PER_TICK)
    slack = ticks_per_round * step
    assert oldest[0] >= now - 3600 - 120 - slack - step
    assert oldest[60] >= now - 86_400 - 600 - slack - step
    assert oldest[600] >= now - 86_400 - slack - 600 - step
    kept = {0: 3720, 60: 87_000, 600: 86_400, 3600: 86_400}
    bound = sum((keep + slack) // step + 1 for keep in kept.values()) + 1
    assert oldest[3600] >= now - 86_400 - slack - 3600 - step
    assert per_app <= bound < 2 * 86_400 // step * 2  # without pruning: 1,488 rows
