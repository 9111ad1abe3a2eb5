"""Turn a build log streamed as text chunks into the lines ``LogViewer`` shows.

The agent sends the build log in arbitrary slices: a chunk can end in the middle of a
line, or even between the ``\\r`` and ``\\n`` of one line break. ``LineAssembler`` keeps
the unfinished tail until its end arrives (or the build ends), so no line is split in
two in the viewer. A carriage return alone rewrites the line, as in a terminal: only the
text after the last one is kept (progress counters then show their final value).
"""

from __future__ import annotations

from basepod_agent.protocol import LogLine


def _settle(line: str) -> str:
    return line.rsplit("\r", 1)[-1] if "\r" in line else line


class LineAssembler:
    def __init__(self) -> None:
        self._tail = ""

    @property
    def pending(self) -> str:
        """The unfinished last line, as received so far."""
        return self._tail

    def feed(self, text: str) -> list[LogLine]:
        """The lines ``text`` completes; an unfinished end waits for the next chunk."""
        data = self._tail + text
        hold_cr = data.endswith("\r")  # maybe the first half of "\r\n"
        if hold_cr:
            data = data[:-1]
        data = data.replace("\r\n", "\n")
        *complete, tail = data.split("\n")
        self._tail = tail + ("\r" if hold_cr else "")
        return [LogLine(ts=None, text=_settle(line)) for line in complete]

    def finish(self) -> list[LogLine]:
        """The last line when the log ends without a line break."""
        tail, self._tail = self._tail.rstrip("\r"), ""
        return [LogLine(ts=None, text=_settle(tail))] if tail else []

    def reset(self) -> None:
        self._tail = ""


def split_log(text: str) -> list[LogLine]:
    """A whole stored log as lines."""
    assembler = LineAssembler()
    return assembler.feed(text) + assembler.finish()
