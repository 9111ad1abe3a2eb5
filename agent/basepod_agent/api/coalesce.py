"""One write per response, so HTTP through an SSH tunnel does not stall on Nagle.

uvicorn writes a response's headers and body in two ``transport.write`` calls. Over a
tunnel, sshd forwards each as its own SSH packet; OpenSSH leaves Nagle on for
forwarding-only sessions, so the second packet waits for the client's delayed ACK
(~40 ms on Linux). Buffering the writes made in one event-loop turn and flushing them
together removes the stall (measured: p50 of ``GET /api/apps`` 52 ms -> a few ms).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol


class CoalescingTransport:
    """Proxies an asyncio transport; writes within one loop turn leave as one write."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        self._pending.append(bytes(data))

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def _flush(self) -> None:
        if self._pending and not self._transport.is_closing():
            self._transport.write(b"".join(self._pending))
        self._pending.clear()

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def __getattr__(self, name: str):
        return getattr(self._transport, name)


class CoalescingH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport))  # type: ignore[arg-type]
