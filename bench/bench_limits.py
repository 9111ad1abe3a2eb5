"""Resource limits: what applying a change costs, and how closely a CPU cap holds.

Prints, on real Podman:
- PUT /api/apps/NAME/limits on a running app (Podman 4.3: a managed recreate), median ms,
  next to `podman update` of the live cgroup alone (what an in-place update would cost);
- a busybox CPU burner's measured share of one core under caps of 0.25, 0.5 and 1.0.

Run: .venv/bin/python bench/bench_limits.py   (figures only; nothing is asserted)
"""

from __future__ import annotations

import json
import statistics
import time

from _setup import AgentProcess, PodmanService, build_busybox_image, short_tmpdir
from harness.cgroups import cpu_seconds

BURNER = ["sh", "-c", "while :; do :; done"]


def main() -> None:
    podman = PodmanService(short_tmpdir("bp-bench-pod-"))
    podman.start()
    image = build_busybox_image(podman)
    agent = AgentProcess(short_tmpdir("bp-bench-agent-"), podman, port_range="30000-30099",
                         extra_args=["--stop-timeout", "1", "--default-cpus", "0.25"])
    try:
        agent.start()
        token = agent.request("POST", "/api/auth/login", {"email": agent.admin_email,
                                                          "password": agent.admin_password})[1]["token"]
        agent.request("POST", "/api/apps", {"name": "burn", "image": image, "port": 8080, "command": BURNER},
                      token=token)
        recreate: list[float] = []
        for i in range(8):
            start = time.perf_counter()
            status, view = agent.request("PUT", "/api/apps/burn/limits", {"memory": f"{64 + i}M"}, token=token)
            recreate.append((time.perf_counter() - start) * 1000)
            assert status == 200 and view["applied"] == "recreated", view
        update: list[float] = []
        for i in range(8):
            start = time.perf_counter()
            podman.cli("update", "--memory", f"{96 + i}m", "basepod-burn")
            update.append((time.perf_counter() - start) * 1000)
        print(f"limits change on a running app (recreate): median {statistics.median(recreate):.0f} ms")
        print(f"podman update of the live cgroup (CLI):    median {statistics.median(update):.0f} ms")
        for cpus in (0.25, 0.5, 1.0):
            agent.request("PUT", "/api/apps/burn/limits", {"cpus": cpus}, token=token)
            container = json.loads(podman.cli("inspect", "basepod-burn").stdout)[0]["Id"]
            time.sleep(1)
            used, begun = cpu_seconds(container), time.monotonic()
            time.sleep(5)
            share = (cpu_seconds(container) - used) / (time.monotonic() - begun)
            print(f"burner under a {cpus:g} CPU cap: {share:.0%} of one core")
    finally:
        agent.stop()
        podman.destroy()


if __name__ == "__main__":
    main()
