"""Reading a container's cgroup accounting straight from /sys/fs/cgroup (v1 or v2)."""

from __future__ import annotations

import glob


def cpu_seconds(container_id: str) -> float:
    """CPU time the container has used so far."""
    for path in glob.glob(f"/sys/fs/cgroup/cpuacct/**/*{container_id}*/cpuacct.usage", recursive=True):
        with open(path) as fh:
            return int(fh.read()) / 1e9
    for path in glob.glob(f"/sys/fs/cgroup/**/*{container_id}*/cpu.stat", recursive=True):
        with open(path) as fh:
            for line in fh:
                if line.startswith("usage_usec"):
                    return int(line.split()[1]) / 1e6
    raise AssertionError(f"no cgroup CPU accounting found for {container_id}")
