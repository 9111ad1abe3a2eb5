"""Search highlights for the lines on screen only.

Highlighting every match in a 10,000-line document would mean thousands of extra
selections re-laid out on every batch; the viewer instead asks for the visible block
range and builds selections for the matches there, redoing it on scroll and on append.
"""

from __future__ import annotations

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit

from basepod_desktop.core.logbuffer import LogBuffer, short_timestamp
from basepod_desktop.ui.logs.formats import AnsiFormats
from basepod_desktop.ui.logs.matches import MatchTracker

__all__ = ["visible_block_range", "match_selections"]


def visible_block_range(edit: QPlainTextEdit) -> tuple[int, int]:
    """Block numbers of the first and last (partly) visible blocks."""
    block = edit.firstVisibleBlock()
    first = last = block.blockNumber()
    offset = edit.contentOffset()
    height = edit.viewport().height()
    while block.isValid():
        if edit.blockBoundingGeometry(block).translated(offset).top() > height:
            break
        last = block.blockNumber()
        block = block.next()
    return first, last


def match_selections(edit: QPlainTextEdit, matches: MatchTracker, buffer: LogBuffer,
                     formats: AnsiFormats, timestamps: bool) -> list[QTextEdit.ExtraSelection]:
    """One selection per match on screen; the current match gets the stronger colour."""
    first, last = visible_block_range(edit)
    base = buffer.first_seq
    doc = edit.document()
    selections = []
    for index, (seq, column, length) in matches.in_range(base + first, base + last):
        line_index = seq - base
        ts = buffer[line_index].ts if timestamps else None
        start = (doc.findBlockByNumber(line_index).position() + column
                 + (len(short_timestamp(ts)) + 1 if ts else 0))
        selection = QTextEdit.ExtraSelection()
        cursor = QTextCursor(doc)
        cursor.setPosition(start)
        cursor.setPosition(start + length, QTextCursor.MoveMode.KeepAnchor)
        selection.cursor = cursor
        selection.format = formats.current_match if index == matches.current else formats.match
        selections.append(selection)
    return selections
