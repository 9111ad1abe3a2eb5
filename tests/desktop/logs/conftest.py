"""Fixtures for the log viewer tests."""

from __future__ import annotations

import pytest

from basepod_agent.protocol import LogLine


@pytest.fixture
def sample_lines() -> list[LogLine]:
    """Realistic coloured output: a web server, a worker and a noisy progress line."""
    rows = [
        ("53.101", "\x1b[1;34m==>\x1b[0m Starting web server on :8080"),
        ("53.207", "\x1b[32mINFO\x1b[0m  Connected to postgres://db:5432/app"),
        ("53.412", "\x1b[32mINFO\x1b[0m  GET /healthz \x1b[2m200 1.2ms\x1b[0m"),
        ("54.003", "\x1b[33mWARN\x1b[0m  Slow query (412 ms): SELECT * FROM orders"),
        ("54.118", "\x1b[31mERROR\x1b[0m \x1b[1mpayment failed\x1b[22m: card_declined"),
        ("54.119", "\x1b[31m  at charge (billing/stripe.py:88)"),
        ("54.119", "  at checkout (shop/views.py:212)\x1b[0m"),
        ("55.500", "\x1b[36mDEBUG\x1b[0m cache hit ratio \x1b[38;5;208m0.93\x1b[0m"),
        ("56.002", "\x1b[35mworker\x1b[0m  job \x1b[4memail.send\x1b[24m done in 88ms"),
        ("56.010", "\x1b[38;2;120;200;255mtruecolor\x1b[0m and "
                   "\x1b]8;;https://example.com\x07a link\x1b]8;;\x07"),
        ("57.000", "\x1b[90m[gc] collected 1204 objects\x1b[0m"),
        ("57.250", "\x1b[42;30m PASS \x1b[0m migrations up to date"),
        ("58.000", "\x1b[32mINFO\x1b[0m  GET /api/orders?page=2 200 14ms"),
    ]
    return [LogLine(ts=f"2025-03-14T09:26:{seconds}Z", text=text) for seconds, text in rows]

