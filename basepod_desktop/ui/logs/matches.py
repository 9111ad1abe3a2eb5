"""Search matches that survive a live stream: new lines add matches, evicted lines drop them.

Matches are stored by line *sequence number* (see :mod:`basepod_desktop.core.logbuffer`),
not by index, so they stay valid while old lines scroll out of the buffer. Re-searching
10,000 lines on every 50 ms batch would cost more than the batch itself; instead only
the new lines are searched. Columns refer to the visible text (escapes removed).
"""

from __future__ import annotations

import re
from bisect import bisect_left

from basepod_desktop.core.ansi import strip_ansi
from basepod_desktop.core.logbuffer import LogBuffer

__all__ = ["Match", "MatchTracker"]

Match = tuple[int, int, int]
"""(line sequence number, column, length) in the line's visible text."""


class MatchTracker:
    def __init__(self) -> None:
        self.query = ""
        self._pattern: re.Pattern[str] | None = None
        self.matches: list[Match] = []
        self.current = -1  # index into matches; -1 = none chosen yet

    def __len__(self) -> int:
        return len(self.matches)

    @property
    def active(self) -> bool:
        return self._pattern is not None

    def set_query(self, query: str, buffer: LogBuffer) -> None:
        """Search every kept line for ``query`` (empty clears)."""
        self.query = query
        self._pattern = re.compile(re.escape(query), re.IGNORECASE) if query else None
        self.matches = []
        self.current = -1
        if self._pattern is not None:
            self._scan(buffer, buffer.search(query))

    def lines_added(self, buffer: LogBuffer, count: int) -> None:
        """Account for ``count`` lines just appended (and any evicted to make room)."""
        if self._pattern is None:
            return
        self._drop_evicted(buffer.first_seq)
        start = max(0, len(buffer) - count)
        self._scan(buffer, buffer.search(self.query, start))

    def _drop_evicted(self, first_seq: int) -> None:
        cut = bisect_left(self.matches, (first_seq, -1, -1))
        if cut:
            del self.matches[:cut]
            if self.current >= 0:
                self.current = max(0, self.current - cut) if self.matches else -1

    def _scan(self, buffer: LogBuffer, indices: list[int]) -> None:
        assert self._pattern is not None
        first_seq = buffer.first_seq
        append = self.matches.append
        for index in indices:
            text = strip_ansi(buffer[index].text)
            for found in self._pattern.finditer(text):
                append((first_seq + index, found.start(), found.end() - found.start()))

    def step(self, forward: bool = True) -> Match | None:
        """Move to the next (or previous) match, wrapping around; return it."""
        if not self.matches:
            self.current = -1
            return None
        if self.current < 0:
            self.current = 0 if forward else len(self.matches) - 1
        else:
            self.current = (self.current + (1 if forward else -1)) % len(self.matches)
        return self.matches[self.current]

    def in_range(self, first_seq: int, last_seq: int) -> list[tuple[int, Match]]:
        """(index, match) pairs on lines ``first_seq..last_seq`` inclusive, for painting."""
        lo = bisect_left(self.matches, (first_seq, -1, -1))
        hi = bisect_left(self.matches, (last_seq + 1, -1, -1))
        return [(i, self.matches[i]) for i in range(lo, hi)]

    def counter_text(self) -> str:
        if not self.active:
            return ""
        if not self.matches:
            return "No matches"
        position = self.current + 1 if self.current >= 0 else 0
        return f"{position:,} of {len(self.matches):,}"
