"""Start-up time of the desktop app: process start to the first paint of the main window.

Each run is a fresh ``python -m basepod_desktop --quit-after-paint`` process (offscreen,
empty temporary config, no local agent), which reports the time between its own process
start (from /proc) and the main window's first paintEvent. Prints every run and the
median in milliseconds.

    QT_QPA_PLATFORM=offscreen python bench/bench_desktop_startup.py [-n 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap

PROBE = textwrap.dedent("""
    import os, sys, time
    def started_at():
        # field 22 of /proc/self/stat: start time in clock ticks since boot
        ticks = int(open('/proc/self/stat').read().rsplit(')', 1)[1].split()[19])
        uptime = float(open('/proc/uptime').read().split()[0])
        return time.time() - (uptime - ticks / os.sysconf('SC_CLK_TCK'))
    t0 = started_at()
    from basepod_desktop.ui.main_window import MainWindow
    orig = MainWindow.paintEvent
    def paint(self, event, _orig=orig):
        first = not self._painted
        _orig(self, event)
        if first:
            print(f"FIRST_PAINT_MS {(time.time() - t0) * 1000:.1f}", flush=True)
    MainWindow.paintEvent = paint
    from basepod_desktop.__main__ import main
    sys.exit(main(["--no-local-agent", "--quit-after-paint"]))
""")


def one_run() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               "BASEPOD_CONFIG_DIR": f"{tmp}/config", "BASEPOD_DATA_DIR": f"{tmp}/data",
               "BASEPOD_KEYRING": "0", "HOME": tmp}
        out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60)
    for line in out.stdout.splitlines():
        if line.startswith("FIRST_PAINT_MS"):
            return float(line.split()[1])
    raise RuntimeError(f"no paint reported (exit {out.returncode}):\n{out.stderr[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=7)
    args = parser.parse_args()
    one_run()  # warm the OS file cache so run 1 is not an outlier
    times = []
    for i in range(args.runs):
        ms = one_run()
        times.append(ms)
        print(f"run {i + 1}: {ms:.0f} ms")
    print(f"start-up to first paint: median {statistics.median(times):.0f} ms "
          f"(min {min(times):.0f}, max {max(times):.0f}, n={len(times)})")


if __name__ == "__main__":
    main()
