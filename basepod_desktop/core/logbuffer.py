"""A bounded ring buffer of log lines: what the viewer keeps, searches and exports.

A noisy app can print millions of lines; the desktop must keep a fixed window of the
newest ones and say how many it let go, rather than grow until it is killed. The buffer
is Qt-free so the CLI (``bp logs``) and tests can use it directly.

Lines are addressed two ways: an *index* into the kept lines (0 = oldest kept) and a
*sequence number* that never changes (0 = first line ever appended). Sequence numbers let
a caller remember a line (a search match, a bookmark) while older lines are evicted:
``index = seq - first_seq``.
"""

from __future__ import annotations

import re
from collections import deque
from itertools import islice
from pathlib import Path
from typing import Iterable, Iterator

from basepod_agent.protocol import LogLine

from basepod_desktop.core.ansi import strip_ansi

__all__ = ["DEFAULT_MAX_LINES", "LogBuffer", "format_line", "normalize_lines", "short_timestamp"]

DEFAULT_MAX_LINES = 10_000

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f]")  # keeps \t and ESC
_CONTROL_KEEP_BEL_RE = re.compile(r"[\x00-\x06\x08\x0b-\x1a\x1c-\x1f\x7f]")  # BEL ends OSC
_ISO_TIME_RE = re.compile(r"^\d{4}-\d\d-\d\d[T ](\d\d:\d\d:\d\d(?:\.\d{1,3})?)")


def normalize_lines(lines: Iterable[LogLine]) -> list[LogLine]:
    """One LogLine per display line: split embedded newlines, keep what a terminal would
    show after carriage returns (progress bars redraw with ``\\r``), drop other control
    characters. Escape sequences stay (they carry colour). Lines needing no change are
    passed through as the same objects, which is the common, fast case."""
    out: list[LogLine] = []
    for line in lines:
        text = line.text
        if text.isprintable():
            out.append(line)
            continue
        parts = text.split("\n")
        if len(parts) > 1 and parts[-1] == "":
            parts.pop()
        for part in parts:
            if "\r" in part:
                segments = [s for s in part.split("\r") if s]
                part = segments[-1] if segments else ""
            part = (_CONTROL_KEEP_BEL_RE if "\x1b" in part else _CONTROL_RE).sub("", part)
            out.append(line if part == text else LogLine.model_construct(ts=line.ts, text=part))
    return out


def short_timestamp(ts: str | None) -> str:
    """Compact time for display (``12:34:56.789``, fixed width); exports keep the full stamp."""
    if not ts:
        return ""
    match = _ISO_TIME_RE.match(ts)
    return match.group(1).ljust(12) if match else ts


def format_line(line: LogLine, timestamps: bool = True) -> str:
    """The plain-text form used for copy and export: ``"<ts> <text>"`` without escapes."""
    text = strip_ansi(line.text)
    if timestamps and line.ts:
        return f"{line.ts} {text}"
    return text


class LogBuffer:
    """Keeps the newest ``max_lines`` lines; counts every line it had to drop."""

    def __init__(self, max_lines: int = DEFAULT_MAX_LINES) -> None:
        if max_lines < 1:
            raise ValueError("max_lines must be at least 1")
        self._lines: deque[LogLine] = deque(maxlen=max_lines)
        self._total = 0
        self._dropped = 0

    # -- size -------------------------------------------------------------------------
    @property
    def max_lines(self) -> int:
        return self._lines.maxlen  # type: ignore[return-value]

    def set_max_lines(self, max_lines: int) -> int:
        """Change the bound, keeping the newest lines; return how many were dropped."""
        if max_lines < 1:
            raise ValueError("max_lines must be at least 1")
        overflow = max(0, len(self._lines) - max_lines)
        self._lines = deque(self._lines, maxlen=max_lines)
        self._dropped += overflow
        return overflow

    @property
    def dropped(self) -> int:
        """Lines evicted (or never kept) because the buffer was full."""
        return self._dropped

    @property
    def total(self) -> int:
        """Lines ever appended since creation or the last :meth:`clear`."""
        return self._total

    @property
    def first_seq(self) -> int:
        """Sequence number of the oldest kept line."""
        return self._total - len(self._lines)

    def __len__(self) -> int:
        return len(self._lines)

    def __iter__(self) -> Iterator[LogLine]:
        return iter(self._lines)

    def __getitem__(self, index: int) -> LogLine:
        return self._lines[index]

    def lines(self) -> list[LogLine]:
        return list(self._lines)

    # -- mutation ---------------------------------------------------------------------
    def append(self, line: LogLine) -> None:
        if len(self._lines) == self._lines.maxlen:
            self._dropped += 1
        self._lines.append(line)
        self._total += 1

    def extend(self, lines: Iterable[LogLine]) -> int:
        """Append many lines; return how many kept lines were dropped to make room."""
        lines = lines if isinstance(lines, (list, tuple)) else list(lines)
        overflow = max(0, len(self._lines) + len(lines) - self.max_lines)
        self._lines.extend(lines)
        self._total += len(lines)
        self._dropped += overflow
        return overflow

    def record_dropped(self, count: int) -> None:
        """Count lines lost before reaching the buffer (e.g. overflow while paused)."""
        if count > 0:
            self._dropped += count

    def clear(self) -> None:
        """Forget every line and reset the counters (a fresh view, not an eviction)."""
        self._lines.clear()
        self._total = 0
        self._dropped = 0

    # -- queries ----------------------------------------------------------------------
    def search(self, query: str, start: int = 0) -> list[int]:
        """Indices of kept lines (from ``start``) whose visible text contains ``query``.

        Case-insensitive, and matched against the text with escape sequences removed,
        so searching for "31m" does not match every red line.
        """
        if not query:
            return []
        needle = query.casefold()
        return [
            index
            for index, line in enumerate(islice(self._lines, start, None), start)
            if needle in strip_ansi(line.text).casefold()
        ]

    def export_text(self, timestamps: bool = True) -> str:
        """All kept lines as plain text, one per line, with a trailing newline."""
        if not self._lines:
            return ""
        return "\n".join(format_line(line, timestamps) for line in self._lines) + "\n"

    def write_to(self, path: str | Path, timestamps: bool = True) -> int:
        """Write :meth:`export_text` to ``path`` (UTF-8); return the number of lines."""
        Path(path).write_text(self.export_text(timestamps), encoding="utf-8")
        return len(self._lines)
