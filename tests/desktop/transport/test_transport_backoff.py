"""Reconnect backoff: growth, cap, jitter bounds, reset."""

from __future__ import annotations

import pytest

from basepod_desktop.transport.reconnect import Backoff


def test_grows_exponentially_and_caps_without_jitter():
    b = Backoff(initial=0.5, factor=2, maximum=5, jitter=0)
    assert [b.next_delay() for _ in range(7)] == [0.5, 1, 2, 4, 5, 5, 5]
    assert b.attempts == 7


def test_reset_starts_over():
    b = Backoff(initial=1, factor=3, maximum=100, jitter=0)
    b.next_delay(), b.next_delay()
    b.reset()
    assert b.attempts == 0 and b.next_delay() == 1


@pytest.mark.parametrize("r, expected", [(0.0, 0.9), (0.5, 1.0), (1.0, 1.1)])
def test_jitter_spreads_around_the_base(r, expected):
    b = Backoff(initial=1, jitter=0.1, rng=lambda: r)
    assert b.next_delay() == pytest.approx(expected)


def test_jitter_never_exceeds_maximum_and_never_overflows():
    b = Backoff(initial=0.5, factor=2, maximum=30, jitter=0.1, rng=lambda: 1.0)
    delays = [b.next_delay() for _ in range(5000)]
    assert max(delays) == 30
    assert all(d > 0 for d in delays)


def test_random_jitter_stays_in_bounds():
    b = Backoff(initial=2, factor=1, maximum=10, jitter=0.25)
    assert all(1.5 <= b.next_delay() <= 2.5 for _ in range(200))


@pytest.mark.parametrize(
    "kwargs",
    [{"initial": 0}, {"factor": 0.5}, {"initial": 5, "maximum": 1}, {"jitter": 1}, {"jitter": -0.1}],
)
def test_rejects_nonsense(kwargs):
    with pytest.raises(ValueError):
        Backoff(**kwargs)
