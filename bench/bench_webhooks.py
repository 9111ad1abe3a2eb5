"""Issue #6 figures: the webhook signature check, and the edge answering deliveries.

    .venv/bin/python bench/bench_webhooks.py [--requests 300]

1. ``signature_ok`` throughput on a typical push payload (~8 KiB) and on a 1 MiB one.
2. Edge API latency of signed ``ping`` deliveries over real HTTP (each is verified,
   recorded in SQLite and published), p50/p99, kept under the rate limit.
3. The same for unsigned requests, which the edge refuses with 401 (what a flood costs).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time

import httpx
from _setup import AgentProcess, PodmanService, build_busybox_image, short_tmpdir, summary

from basepod_agent.services.webhook_signature import signature_for, signature_ok


def checks_per_second(secret: str, body: bytes, seconds: float = 1.0) -> float:
    header = signature_for(secret, body)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        signature_ok(secret, body, header)
        count += 1
    return count / (time.perf_counter() - start)


def timed(client: httpx.Client, url: str, body: bytes, headers: dict, n: int, expect: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        response = client.post(url, content=body, headers={**headers, "X-GitHub-Delivery": f"bench-{expect}-{i}"})
        out.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == expect, response.text
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    secret = "s" * 43
    typical = json.dumps({"ref": "refs/heads/main", "commits": [{"message": "x" * 300}] * 20}).encode()
    big = b"x" * (1024 * 1024)
    print(f"signature check, {len(typical)} B body: {checks_per_second(secret, typical):,.0f} /s")
    print(f"signature check, 1 MiB body: {checks_per_second(secret, big):,.0f} /s")

    podman = PodmanService(short_tmpdir("bp-bench-pod-"))
    podman.start()
    agent = AgentProcess(short_tmpdir("bp-bench-agent-"), podman, port_range="30000-30099")
    agent.state_dir.mkdir(parents=True, exist_ok=True)
    (agent.state_dir / "agent.toml").write_text("webhook_rate_per_minute = 1000000\nwebhook_burst = 100000\n")
    try:
        agent.start()
        token = agent.request("POST", "/api/auth/login", {"email": agent.admin_email,
                                                          "password": agent.admin_password})[1]["token"]
        image = build_busybox_image(podman)
        status, created = agent.request("POST", "/api/apps", {"name": "hook", "image": image, "port": 8080}, token=token)
        assert status == 201, created
        hook = agent.request("POST", "/api/apps/hook/webhook/setup", None, token=token)[1]
        url = f"{agent.edge_url}/api/apps/hook/webhook"
        body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
        signed = {"Content-Type": "application/json", "X-GitHub-Event": "ping",
                  "X-Hub-Signature-256": signature_for(hook["secret"], body)}
        with httpx.Client(timeout=10) as client:
            timed(client, url, body, signed, 20, 200)  # warm up
            print(f"edge, signed ping (verified, recorded): {summary(timed(client, url, body, signed, args.requests, 200))}")
            unsigned = {k: v for k, v in signed.items() if k != "X-Hub-Signature-256"}
            print(f"edge, unsigned request (401):           {summary(timed(client, url, body, unsigned, args.requests, 401))}")
    finally:
        agent.stop()
        podman.destroy()
        shutil.rmtree(agent.base_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
