"""Issue #2 figures: API latency through the SSH tunnel, app start overhead, idle RSS.

    .venv/bin/python bench/bench_agent.py [--apps 100] [--requests 500] [--starts 15]

1. ``GET /api/apps`` with N apps, through a real OpenSSH tunnel (asyncssh forward of a
   local Unix socket to the agent socket), p50/p99 (goal p50 <= 5 ms, p99 <= 20 ms).
2. Creating+starting an app through the agent vs ``podman run -d`` of the same image on
   the same store, median ratio (goal <= 1.15).
3. Agent resident memory when idle with those apps (goal <= 60 MiB).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import time

from _setup import AgentProcess, PodmanService, SshServer, build_busybox_image, short_tmpdir, summary

from basepod_agent.protocol import AppCreate
from basepod_desktop.client import AgentClient
from basepod_desktop.core.profiles import ServerProfile
from basepod_desktop.transport import SshTunnel


def rss_mib(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run(args: argparse.Namespace) -> None:
    podman = PodmanService(short_tmpdir("bp-bench-pod-"))
    sshd = SshServer(short_tmpdir("bp-bench-ssh-"))
    podman.start()
    sshd.start()
    agent = AgentProcess(short_tmpdir("bp-bench-agent-"), podman, port_range="30000-30999",
                         extra_args=["--stop-timeout", "1"])
    try:
        image = build_busybox_image(podman)
        agent.start()
        local = AgentClient(str(agent.socket_path))
        await local.login(agent.admin_email, agent.admin_password)
        print(f"creating {args.apps} apps ...", flush=True)
        for i in range(args.apps):
            await local.create_app(AppCreate(name=f"app{i:03d}", image=image, port=8080))
        await asyncio.sleep(3)

        profile = ServerProfile(name="bench", kind="ssh", host=sshd.host, port=sshd.port,
                                user=sshd.user, key_path=str(sshd.client_key), socket=str(agent.socket_path))
        tunnel = SshTunnel(profile, known_hosts_path=sshd.known_hosts_path)
        remote = AgentClient(await tunnel.open(), token=local.token)
        for _ in range(20):
            await remote.list_apps()
        latencies = []
        for _ in range(args.requests):
            t0 = time.perf_counter()
            apps = await remote.list_apps()
            latencies.append((time.perf_counter() - t0) * 1000)
        assert len(apps) == args.apps
        print(f"GET /api/apps with {args.apps} apps through the SSH tunnel: {summary(latencies)}")
        await remote.aclose()
        await tunnel.aclose()

        agent_times, raw_times = [], []
        for i in range(args.starts):
            t0 = time.perf_counter()
            await local.create_app(AppCreate(name=f"start{i:02d}", image=image, port=8080))
            agent_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            podman.cli("run", "-d", "--name", f"raw{i:02d}", "-p", f"{31000 + i}:8080",
                       "--label", "bench=raw", image)
            raw_times.append(time.perf_counter() - t0)
        a, r = statistics.median(agent_times) * 1000, statistics.median(raw_times) * 1000
        print(f"app create+start: agent median {a:.0f} ms, podman run median {r:.0f} ms, "
              f"ratio {a / r:.2f} (n={args.starts})")

        await asyncio.sleep(10)
        total = args.apps + args.starts
        print(f"agent idle RSS with {total} apps: {rss_mib(agent.pid):.1f} MiB")
        await local.aclose()
    finally:
        agent.stop()
        sshd.stop()
        podman.destroy()
        shutil.rmtree(agent.base_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apps", type=int, default=100)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--starts", type=int, default=15)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
