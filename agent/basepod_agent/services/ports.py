"""Host port assignment for published container ports."""

from __future__ import annotations

import socket
from collections.abc import Iterable

from basepod_agent.protocol.errors import ErrorCode
from basepod_agent.services.errors import AgentError


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def pick_host_port(port_range: tuple[int, int], taken: Iterable[int]) -> int:
    """The lowest port in the range that no app owns and nothing else listens on."""
    used = set(taken)
    low, high = port_range
    for port in range(low, high + 1):
        if port not in used and _bindable(port):
            return port
    raise AgentError(
        ErrorCode.PORT_UNAVAILABLE,
        f"no free host port left in {low}-{high}; widen the agent's port_range",
    )


def is_free(port: int) -> bool:
    """Nothing listens on ``port`` right now (a spare port may have been taken since)."""
    return _bindable(port)
