"""Onboarding over SSH: how long install, an idempotent re-run, a forced upgrade and
doctor take against the real sshd harness on 127.0.0.1 (this machine as "the server").

    python bench/bench_onboarding.py [--runs 3]

Each run installs into a fresh prefix. pip fetches the agent's dependencies from the
machine's package index and cache, so the first install of a session is the slowest;
the figures are per step (median over runs) plus totals.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import PodmanService, SshServer, short_tmpdir  # noqa: E402

from basepod_desktop.core.credentials import TokenStore  # noqa: E402
from basepod_desktop.core.onboarding_model import StepStatus, StepUpdate  # noqa: E402
from basepod_desktop.core.profiles import ServerProfile  # noqa: E402
from basepod_desktop.core.server_setup import ServerSetup  # noqa: E402

PASSWORD = "correct horse battery"


async def _timed(events) -> dict[str, float]:
    return {e.step: e.seconds async for e in events
            if isinstance(e, StepUpdate) and e.status is not StepStatus.RUNNING}


async def one_run(sshd: SshServer, podman: PodmanService) -> dict[str, dict[str, float]]:
    base = short_tmpdir("bp-bench-ob-")
    profile = ServerProfile(name="bench", host=sshd.host, port=sshd.port, user=sshd.user,
                            key_path=str(sshd.client_key))
    tokens = TokenStore(base / "cfg", use_keyring=False)
    kwargs = {"known_hosts_path": sshd.known_hosts_path}
    options = {"prefix": str(base / "opt"), "state_dir": str(base / "state"), "podman_url": podman.url}
    figures: dict[str, dict[str, float]] = {}
    try:
        for phase in ("install", "re-run"):
            setup = ServerSetup(profile, tokens, **kwargs)
            started = time.perf_counter()
            job = await setup.prepare_install("admin@example.com", PASSWORD, **options)
            steps = await _timed(job.install())
            steps["total"] = time.perf_counter() - started
            figures[phase] = steps
            await setup.aclose()
            profile = job.profile
        setup = ServerSetup(profile, tokens, **kwargs)
        started = time.perf_counter()
        job, _ = await setup.prepare_upgrade(force=True)
        steps = await _timed(job.upgrade())
        steps["total"] = time.perf_counter() - started
        figures["forced upgrade"] = steps
        await setup.aclose()
        started = time.perf_counter()
        await ServerSetup(profile, tokens, **kwargs).diagnose()
        figures["doctor"] = {"total": time.perf_counter() - started}
    finally:
        pidfile = base / "state" / "agent.pid"
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), 15)
        shutil.rmtree(base, ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sshd = SshServer(short_tmpdir("bp-bench-ssh-")).start()
    podman = PodmanService(short_tmpdir("bp-bench-pod-")).start()
    try:
        runs = [asyncio.run(one_run(sshd, podman)) for _ in range(args.runs)]
    finally:
        sshd.stop()
        podman.destroy()
    for phase in runs[0]:
        steps = {step: statistics.median(r[phase][step] for r in runs) for step in runs[0][phase]}
        detail = ", ".join(f"{k} {v:.2f}" for k, v in steps.items() if k != "total")
        print(f"{phase:<15} total {steps['total']:6.2f} s   ({detail})" if detail else
              f"{phase:<15} total {steps['total']:6.2f} s")


if __name__ == "__main__":
    main()
