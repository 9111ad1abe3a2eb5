"""Per-deploy build logs: an append-only file with live followers.

A build outlives the client that started it, so the log is a file under the state dir
(``deploys/<id>/build.log``) that any client can read later, and a client attaching
mid-build gets everything so far and then the live tail without gaps or repeats.

Offsets are byte offsets into the file. A follower reads the file from its offset up to
the size recorded *after* the last completed write, then waits for the next write; all
writes and reads happen on the event loop thread with no await in between, so a
follower attaching mid-write can neither miss nor repeat bytes.

Size bound: when the log would exceed ``limit`` bytes, writing stops and a marker line
``[log truncated at N MiB ...]`` is appended. What comes after is not lost entirely:
the last ``tail_bytes`` of it are kept in memory and appended, after a second marker,
when the log is closed, because the end of a failed build is where its error is. The
file stays append-only, so offsets seen by followers remain valid.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

from basepod_agent.protocol.deploys import BuildLogChunk, DeployStatus

DEFAULT_LIMIT = 5 * 1024 * 1024
DEFAULT_TAIL = 64 * 1024
READ_CHUNK = 64 * 1024


def _utf8_boundary(data: bytes) -> int:
    """Length of the longest prefix of ``data`` that does not end inside a character."""
    end = len(data)
    back = 0
    while back < 4 and end - back > 0 and (data[end - back - 1] & 0xC0) == 0x80:
        back += 1
    if end - back > 0:
        lead = data[end - back - 1]
        need = 2 if lead >> 5 == 0b110 else 3 if lead >> 4 == 0b1110 else 4 if lead >> 3 == 0b11110 else 1
        if need > back + 1:
            return end - back - 1
    return end


class BuildLog:
    """One deploy's log. Use ``create`` for a new (writable) log, ``load`` to read an
    old one; ``append`` and ``close`` must be called on the event loop's thread."""

    def __init__(self, path: Path, *, writable: bool, limit: int, tail_bytes: int,
                 status: DeployStatus | None = None) -> None:
        self.path = path
        self.limit = limit
        self.tail_bytes = tail_bytes
        self.status = status
        self.truncated = False
        self._dropped = 0
        self._tail = bytearray()
        self._closed = not writable
        self._changed = asyncio.Event()
        self._fd: int | None = None
        if writable:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
            self._size = 0
        else:
            self._size = path.stat().st_size if path.exists() else 0

    @classmethod
    def create(cls, path: str | os.PathLike[str], limit: int = DEFAULT_LIMIT,
               tail_bytes: int = DEFAULT_TAIL) -> BuildLog:
        return cls(Path(path), writable=True, limit=limit, tail_bytes=tail_bytes)

    @classmethod
    def load(cls, path: str | os.PathLike[str], status: DeployStatus | None = None) -> BuildLog:
        """A finished log from disk (after an agent restart: status comes from the DB)."""
        return cls(Path(path), writable=False, limit=DEFAULT_LIMIT, tail_bytes=0, status=status)

    @property
    def size(self) -> int:
        return self._size

    @property
    def closed(self) -> bool:
        return self._closed

    def append(self, text: str) -> None:
        """Add ``text`` (a line without newline gets one). Ignored once closed."""
        if self._closed or not text:
            return
        data = (text if text.endswith("\n") else text + "\n").encode("utf-8", errors="replace")
        if self.truncated:
            self._keep_tail(data)
            return
        room = self.limit - self._size
        if len(data) <= room:
            self._write(data)
            return
        head = data[:_utf8_boundary(data[:max(room, 0)])]
        head = head[:head.rfind(b"\n") + 1] if b"\n" in head else b""
        self._write(head)
        self.truncated = True
        self._write(f"\n[log truncated at {_size_text(self.limit)}; the last "
                    f"{_size_text(self.tail_bytes)} will follow when the build ends]\n".encode())
        self._keep_tail(data[len(head):])

    def _keep_tail(self, data: bytes) -> None:
        self._dropped += len(data)
        self._tail += data
        if len(self._tail) > self.tail_bytes:
            del self._tail[:len(self._tail) - self.tail_bytes]

    def _write(self, data: bytes) -> None:
        if not data:
            return
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._size += len(data)
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def close(self, status: DeployStatus) -> None:
        """Finish the log: flush the kept tail (if truncated), wake followers so they end."""
        if self._closed:
            return
        if self.truncated:
            tail = bytes(self._tail)
            start = len(tail) - len(tail[_first_char(tail):])
            tail = tail[start:]
            omitted = self._dropped - len(tail)
            self._write(f"[... {omitted} bytes omitted; last {len(tail)} bytes of the build log:]\n".encode())
            self._write(tail if tail.endswith(b"\n") else tail + b"\n")
            self._tail.clear()
        self.status = status
        self._closed = True
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._wake()

    def read(self, offset: int = 0, limit: int | None = None) -> tuple[str, int]:
        """Text from ``offset`` (up to ``limit`` bytes) and the offset after it."""
        end = self._size if limit is None else min(self._size, offset + limit)
        if offset >= end:
            return "", max(offset, 0)
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            data = handle.read(end - offset)
        if end < self._size:
            data = data[:_utf8_boundary(data)] or data
        return data.decode("utf-8", errors="replace"), offset + len(data)

    async def follow(self, offset: int = 0) -> AsyncIterator[BuildLogChunk]:
        """Everything from ``offset``, then the live tail until ``close``."""
        offset = max(0, min(offset, self._size))
        while True:
            while offset < self._size:
                text, next_offset = self.read(offset, READ_CHUNK)
                yield BuildLogChunk(offset=offset, text=text)
                offset = next_offset
            # No await between the size check above and waiting on the current event:
            # a write after this point sets exactly the event being awaited.
            if self._closed:
                return
            await self._changed.wait()


def _size_text(size: int) -> str:
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"


def _first_char(data: bytes) -> int:
    index = 0
    while index < len(data) and (data[index] & 0xC0) == 0x80:
        index += 1
    return index


class BuildLogStore:
    """Where deploy logs live, and the live ones by deploy id (one writer each)."""

    def __init__(self, state_dir: str | os.PathLike[str], limit: int = DEFAULT_LIMIT,
                 tail_bytes: int = DEFAULT_TAIL) -> None:
        self.root = Path(state_dir) / "deploys"
        self.limit = limit
        self.tail_bytes = tail_bytes
        self._live: dict[str, BuildLog] = {}

    def path_for(self, deploy_id: str) -> Path:
        if not deploy_id or "/" in deploy_id or deploy_id in (".", ".."):
            raise ValueError(f"invalid deploy id {deploy_id!r}")
        return self.root / deploy_id / "build.log"

    def create(self, deploy_id: str) -> BuildLog:
        log = BuildLog.create(self.path_for(deploy_id), self.limit, self.tail_bytes)
        self._live[deploy_id] = log
        return log

    def get(self, deploy_id: str, status: DeployStatus | None = None) -> BuildLog:
        """The live log if the deploy is running here, else the finished one from disk."""
        live = self._live.get(deploy_id)
        if live is not None:
            return live
        return BuildLog.load(self.path_for(deploy_id), status)

    def finish(self, deploy_id: str, status: DeployStatus) -> None:
        log = self._live.pop(deploy_id, None)
        if log is not None:
            log.close(status)
