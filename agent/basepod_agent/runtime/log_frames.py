"""Decoding Podman's multiplexed log stream (pure: no I/O, tested on bytes)."""

from __future__ import annotations


class LogFrameDecoder:
    """Splits Podman's multiplexed log stream into text lines.

    Non-TTY containers send frames of an 8-byte header (stream id, 3 pad bytes,
    big-endian length) and a payload; lines may span frames.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._text = b""

    def feed(self, data: bytes) -> list[str]:
        self._buffer += data
        while len(self._buffer) >= 8:
            size = int.from_bytes(self._buffer[4:8], "big")
            if self._buffer[0] not in (0, 1, 2) or self._buffer[1:4] != b"\0\0\0":
                # A TTY container's stream is raw text without frame headers.
                self._text += self._buffer
                self._buffer = b""
                break
            if len(self._buffer) < 8 + size:
                break
            self._text += self._buffer[8 : 8 + size]
            self._buffer = self._buffer[8 + size :]
        *lines, self._text = self._text.split(b"\n")
        return [line.decode(errors="replace") for line in lines]

    def flush(self) -> list[str]:
        rest = self._text + self._buffer
        self._text = self._buffer = b""
        return [rest.decode(errors="replace")] if rest else []
