"""Real parts for benchmarks: the same harness the tests use (isolated Podman, sshd, agent).

Benchmarks print figures; they never assert on time.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

from harness import AgentProcess, PodmanService, SshServer, build_busybox_image  # noqa: E402
from harness.system import short_tmpdir  # noqa: E402

__all__ = ["AgentProcess", "PodmanService", "SshServer", "build_busybox_image", "short_tmpdir",
           "percentile", "summary"]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> str:
    return (f"p50 {percentile(values, 50):.2f} ms  p99 {percentile(values, 99):.2f} ms  "
            f"mean {statistics.fmean(values):.2f} ms  (n={len(values)})")
