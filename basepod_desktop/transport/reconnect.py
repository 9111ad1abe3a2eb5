"""Exponential backoff with jitter, for reconnecting tunnels (Qt-free, no timers).

The caller owns the loop: `await asyncio.sleep(backoff.next_delay())` between attempts
and `reset()` once a connection has stayed up. Jitter spreads the retries of many
clients after a server restart.
"""

from __future__ import annotations

import random
from typing import Callable, Optional


class Backoff:
    def __init__(
        self,
        initial: float = 0.5,
        factor: float = 2,
        maximum: float = 30,
        jitter: float = 0.1,
        *,
        rng: Optional[Callable[[], float]] = None,
    ):
        if initial <= 0 or factor < 1 or maximum < initial or not 0 <= jitter < 1:
            raise ValueError("need initial > 0, factor >= 1, maximum >= initial, 0 <= jitter < 1")
        self.initial, self.factor, self.maximum, self.jitter = initial, factor, maximum, jitter
        self._rng = rng or random.random
        self.attempts = 0
        self._step = 0  # stops growing at the cap, so factor**step never overflows

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt: initial * factor**n, capped, ± jitter.

        The cap applies after jitter too, so `maximum` is a hard upper bound.
        """
        base = min(self.maximum, self.initial * self.factor**self._step)
        self.attempts += 1
        if base < self.maximum:
            self._step += 1
        spread = base * self.jitter * (2 * self._rng() - 1)
        return max(0.0, min(self.maximum, base + spread))

    def reset(self) -> None:
        self.attempts = 0
        self._step = 0
