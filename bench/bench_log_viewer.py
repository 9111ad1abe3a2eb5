"""Benchmark the live log viewer: event-loop lag while ingesting, and memory when bounded.

Run:  QT_QPA_PLATFORM=offscreen python bench/bench_log_viewer.py [--seconds 10] [--rate 10000]

(a) Event-loop lag: a 5 ms precise QTimer heartbeat records when it actually fires while
    the viewer receives ``--rate`` lines per second in batches every ``--batch-ms`` (as the
    agent's log stream delivers them). Lag = actual gap minus 5 ms; p99 above one frame
    (16 ms) means a user would feel stutter.
(b) Memory: RSS growth (VmRSS) after appending 1,000,000 lines with the default bound; it
    should plateau once the first ``max_lines`` are in.

``run_ingest_benchmark(viewer, line_source, seconds)`` takes any async iterable of
``list[LogLine]`` batches, so the same measurement can run on lines coming through a real
SSH tunnel from a real agent.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from dataclasses import dataclass
from typing import AsyncIterable, AsyncIterator

import qasync
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from basepod_agent.protocol import LogLine

from basepod_desktop.ui.logs import LogViewer

HEARTBEAT_MS = 5


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for row in status:
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


_LEVELS = ("\x1b[32mINFO\x1b[0m ", "\x1b[33mWARN\x1b[0m ", "\x1b[31mERROR\x1b[0m", "DEBUG")


def make_line(n: int) -> LogLine:
    """A plausible web-app line (~100 chars); about half carry SGR colour codes."""
    level = _LEVELS[n % 4] if n % 2 else "INFO "
    return LogLine(ts=f"2025-03-14T09:{n // 60000 % 60:02d}:{n // 1000 % 60:02d}.{n % 1000:03d}Z",
                   text=f"{level} GET /api/orders/{n} status=200 dur={n % 97}ms "
                        f"user=u{n % 1000} trace=\x1b[2m{n:016x}\x1b[0m")


async def synthetic_source(rate: int, batch_ms: float) -> AsyncIterator[list[LogLine]]:
    """Yield batches every ``batch_ms`` so that, on average, ``rate`` lines/s arrive."""
    start = time.perf_counter()
    sent = 0
    while True:
        await asyncio.sleep(batch_ms / 1000)
        due = int((time.perf_counter() - start) * rate)
        if due > sent:
            yield [make_line(n) for n in range(sent, due)]
            sent = due


@dataclass
class IngestResult:
    seconds: float
    lines: int
    batches: int
    beats: int
    lag_p50_ms: float
    lag_p95_ms: float
    lag_p99_ms: float
    lag_max_ms: float

    def report(self, label: str) -> str:
        return (f"{label}\n"
                f"  ingested            {self.lines:,} lines in {self.batches:,} batches over "
                f"{self.seconds:.1f} s ({self.lines / self.seconds:,.0f} lines/s)\n"
                f"  event-loop lag      p50 {self.lag_p50_ms:.2f} ms   p95 {self.lag_p95_ms:.2f} ms"
                f"   p99 {self.lag_p99_ms:.2f} ms   max {self.lag_max_ms:.2f} ms"
                f"   ({self.beats:,} heartbeats @ {HEARTBEAT_MS} ms; goal p99 <= 16 ms)")


async def run_ingest_benchmark(viewer: LogViewer, line_source: AsyncIterable[list[LogLine]],
                               seconds: float) -> IngestResult:
    """Feed ``viewer`` from ``line_source`` for ``seconds`` while measuring event-loop lag.

    Must run on a qasync loop (the Qt event loop), so the heartbeat competes with the
    viewer's rendering exactly as the app's UI would.
    """
    gaps: list[float] = []
    last = [time.perf_counter()]

    def beat() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
    heartbeat.setInterval(HEARTBEAT_MS)
    heartbeat.timeout.connect(beat)
    lines = batches = 0
    started = time.perf_counter()
    last[0] = started
    heartbeat.start()
    try:
        async for batch in line_source:
            viewer.append_lines(batch)
            lines += len(batch)
            batches += 1
            if time.perf_counter() - started >= seconds:
                break
        await asyncio.sleep(2 * LogViewer.FLUSH_INTERVAL_MS / 1000)  # let the last flush land
    finally:
        heartbeat.stop()
    elapsed = time.perf_counter() - started
    lags = [max(0.0, gap * 1000 - HEARTBEAT_MS) for gap in gaps[1:]] or [0.0]
    return IngestResult(elapsed, lines, batches, len(gaps), statistics.median(lags),
                        percentile(lags, 95), percentile(lags, 99), max(lags))


def run_memory_benchmark(app: QApplication, viewer: LogViewer, total: int = 1_000_000,
                         batch: int = 1000) -> None:
    """Append ``total`` lines in batches, rendering each, and print RSS growth."""
    gc.collect()
    baseline = rss_mib()
    checkpoints = {10_000, 100_000, total}
    started = time.perf_counter()
    print(f"(b) memory, {total:,} lines appended, max_lines={viewer.max_lines():,}")
    print(f"  RSS before          {baseline:8.1f} MiB")
    for sent in range(0, total, batch):
        viewer.append_lines([make_line(n) for n in range(sent, sent + batch)])
        viewer.flush()
        app.processEvents()
        if sent + batch in checkpoints:
            gc.collect()
            print(f"  after {sent + batch:>9,} lines  {rss_mib() - baseline:+8.1f} MiB  "
                  f"(kept {len(viewer.lines()):,}, dropped {viewer.dropped_count():,})")
    elapsed = time.perf_counter() - started
    print(f"  throughput          {total / elapsed:,.0f} lines/s appended+rendered "
          f"({elapsed:.1f} s, parse + render + paint, no throttling)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=10_000, help="lines per second")
    parser.add_argument("--batch-ms", type=float, default=25.0, help="interval between batches")
    parser.add_argument("--memory-lines", type=int, default=1_000_000)
    args = parser.parse_args()

    app = QApplication.instance() or QApplication(sys.argv)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    def make_viewer() -> LogViewer:
        viewer = LogViewer()
        viewer.resize(1200, 700)
        viewer.show()
        viewer.set_live(True)
        app.processEvents()
        return viewer

    scenarios = [
        ("(a) ingest, follow tail", lambda v: None),
        ("(a) ingest, follow tail + timestamps + wrap + active search 'ERROR'",
         lambda v: (v.set_timestamps_visible(True), v.set_wrap(True), v.search("ERROR"))),
    ]
    with loop:
        for label, configure in scenarios:
            viewer = make_viewer()
            configure(viewer)
            source = synthetic_source(args.rate, args.batch_ms)
            result = loop.run_until_complete(run_ingest_benchmark(viewer, source, args.seconds))
            print(result.report(f"{label}: {args.rate:,} lines/s in {args.batch_ms:g} ms batches"))
            viewer.close()
            viewer.deleteLater()
            app.processEvents()
    run_memory_benchmark(app, make_viewer(), total=args.memory_lines)


if __name__ == "__main__":
    main()
