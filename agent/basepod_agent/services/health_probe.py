"""One HTTP health probe: GET http://127.0.0.1:<host port><path>, judged by status range.

Written on asyncio streams rather than httpx: a probe needs one request line and one
status line, and httpx's per-request machinery (pool, h11, anyio) cost about 2.5x the
CPU, which at 200 apps every 5 s was most of the loop's budget (bench/bench_health.py).
The connection is closed after the status line; the body is never read.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

MAX_STATUS_LINE = 1024


@dataclass
class ProbeResult:
    ok: bool
    status_code: int | None
    latency_ms: float | None
    error: str | None

    @property
    def detail(self) -> str:
        if self.error:
            return self.error
        return f"HTTP {self.status_code} in {self.latency_ms:.0f} ms"


def _status_code(line: bytes) -> int | None:
    parts = line.split(None, 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/1.") and parts[1].isdigit() and len(parts[1]) == 3:
        return int(parts[1])
    return None


async def _status_line(port: int, path: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=MAX_STATUS_LINE * 2)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: basepod-health-check\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n".encode("ascii")
        )
        return await reader.readline()
    finally:
        writer.transport.abort()  # no lingering close handshake; the body is not needed


async def probe(port: int, path: str, timeout: float, expected: tuple[int, int]) -> ProbeResult:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            line = await _status_line(port, path)
    except TimeoutError:
        return ProbeResult(False, None, None, f"timed out after {timeout:g} s")
    except ConnectionRefusedError:
        return ProbeResult(False, None, None, "connection refused")
    except (OSError, ValueError) as exc:
        return ProbeResult(False, None, None, f"connection failed: {exc}"[:200])
    latency = (time.perf_counter() - started) * 1000
    code = _status_code(line)
    if code is None:
        error = "connection closed without a response" if not line else "not an HTTP response"
        return ProbeResult(False, None, latency, error)
    low, high = expected
    if low <= code <= high:
        return ProbeResult(True, code, latency, None)
    return ProbeResult(False, code, latency, f"HTTP {code} (expected {low}-{high})")
