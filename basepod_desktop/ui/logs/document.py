"""Writing log lines into a QTextDocument cheaply: few inserts per batch, one trim.

The cost of appending to a QTextDocument is dominated by the number of ``insertText``
calls and by how blocks are evicted, not by the number of characters. So a batch is first
folded into *runs* (consecutive text sharing one format, newlines included), and the
document is trimmed with a single selection removal instead of
``setMaximumBlockCount`` (measured at 10,000 lines: ~5.5 ms vs ~0.5 ms per 500 evicted).
"""

from __future__ import annotations

from PySide6.QtGui import QTextCursor, QTextDocument

from basepod_agent.protocol import LogLine

from basepod_desktop.core.ansi import Style
from basepod_desktop.core.logbuffer import short_timestamp
from basepod_desktop.ui.logs.formats import AnsiFormats

__all__ = ["TIMESTAMP", "build_runs", "insert_runs", "trim_to"]

TIMESTAMP = object()  # run key for the timestamp prefix (not an ANSI style)
Run = tuple[object, list[str]]  # (Style | TIMESTAMP | None for plain, text pieces)


def build_runs(entries: list[tuple[LogLine, list[tuple[str, Style]]]], timestamps: bool,
               at_start: bool) -> list[Run]:
    """Fold lines into runs; ``at_start`` = the document is empty (no leading newline)."""
    runs: list[Run] = []
    key: object = None
    parts: list[str] = []
    pending = "" if at_start else "\n"
    for line, spans in entries:
        if timestamps and line.ts:
            spans = [(short_timestamp(line.ts) + " ", TIMESTAMP), *spans]
        for text, style in spans:
            if style is not key:  # styles are interned: identity is enough to merge
                parts = []
                key = style
                runs.append((key, parts))
            parts.append(pending + text if pending else text)
            pending = ""
        pending += "\n"
    pending = pending[:-1]
    if pending:
        runs.append((None, [pending]))
    return runs


def insert_runs(doc: QTextDocument, runs: list[Run], formats: AnsiFormats) -> None:
    cursor = QTextCursor(doc)
    cursor.movePosition(QTextCursor.MoveOperation.End)
    cursor.beginEditBlock()
    for key, parts in runs:
        fmt = (formats.timestamp if key is TIMESTAMP
               else formats.plain if key is None else formats.for_style(key))
        cursor.insertText("".join(parts), fmt)
    cursor.endEditBlock()


def trim_to(doc: QTextDocument, max_blocks: int) -> int:
    """Remove blocks beyond ``max_blocks`` from the top in one edit; return how many."""
    excess = doc.blockCount() - max_blocks
    if excess <= 0:
        return 0
    cursor = QTextCursor(doc)
    cursor.setPosition(doc.findBlockByNumber(excess).position(), QTextCursor.MoveMode.KeepAnchor)
    cursor.removeSelectedText()
    return excess
