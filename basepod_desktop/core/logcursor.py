"""Where a followed log stands, so a dropped stream resumes with no gap and no repeat.

The agent's log timestamps have one-second resolution, and it can replay "every line
from second S on". The cursor remembers the last second seen and how many lines of that
second were already delivered; on resume it asks from that second and skips exactly
those lines (the log is append-only, so they come back first and in the same order).
"""

from __future__ import annotations

from dataclasses import dataclass

from basepod_agent.protocol import LogLine


@dataclass
class LogCursor:
    second: str | None = None
    seen_in_second: int = 0

    def advance(self, lines: list[LogLine]) -> None:
        for line in lines:
            if line.ts is None:
                continue
            if line.ts == self.second:
                self.seen_in_second += 1
            else:
                self.second, self.seen_in_second = line.ts, 1


class ReplayFilter:
    """Drops, from a resumed stream, the lines the cursor says were already delivered."""

    def __init__(self, cursor: LogCursor) -> None:
        self.second = cursor.second
        self.to_skip = cursor.seen_in_second

    def __call__(self, lines: list[LogLine]) -> list[LogLine]:
        if self.to_skip <= 0:
            return lines
        kept = []
        for line in lines:
            if self.to_skip > 0 and line.ts == self.second:
                self.to_skip -= 1
                continue
            self.to_skip = 0  # past the delivered lines: everything from here on is new
            kept.append(line)
        return kept
