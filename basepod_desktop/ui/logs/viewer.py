"""LogViewer: a live, bounded, ANSI-coloured log view that stays responsive for noisy apps.

Design (measured, see bench/bench_log_viewer.py):
- A read-only QPlainTextEdit holding one block per kept line, trimmed from the top after
  every append (see :mod:`.document`), so the widget and the :class:`LogBuffer` evict in
  step and memory stays bounded however much an app prints. QPlainTextEdit lays out only
  what is visible, so 10,000 lines cost little; it also gives selection and wrapping.
- Incoming batches are queued and rendered at most once per ``FLUSH_INTERVAL_MS``: one
  edit block per flush, and consecutive spans sharing a format merged into a single
  ``insertText`` call (newlines included), with formats precomputed per ANSI style.
- The queue is itself bounded at ``max_lines``: while paused, or if the UI falls behind,
  older queued lines are counted as dropped instead of piling up.
- Following the tail is a property of the scroll position: the user scrolling away from
  the bottom stops it, scrolling back to the bottom resumes it. While not following, the
  view compensates for lines evicted at the top so the text being read does not drift.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication, QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import QFileDialog, QPlainTextEdit, QStackedWidget, QVBoxLayout, QWidget

from basepod_agent.protocol import LogLine

from basepod_desktop.core.ansi import AnsiParser, Style, parse_line
from basepod_desktop.core.logbuffer import DEFAULT_MAX_LINES, LogBuffer, normalize_lines
from basepod_desktop.ui.logs.document import build_runs, insert_runs, trim_to
from basepod_desktop.ui.logs.formats import AnsiFormats
from basepod_desktop.ui.logs.highlight import match_selections, visible_block_range
from basepod_desktop.ui.logs.matches import Match, MatchTracker
from basepod_desktop.ui.logs.save import LogSaver
from basepod_desktop.ui.logs.toolbar import EmptyState, LogToolbar, StatusLine

__all__ = ["LogViewer"]

class LogViewer(QWidget):
    sig_pause_toggled = Signal(bool)
    sig_save_finished = Signal(str, str)  # path, error message ("" = saved)

    FLUSH_INTERVAL_MS = 50
    FLUSH_CHUNK = 1500  # lines rendered per event-loop turn (~15 ms at worst, measured)

    def __init__(self, parent: QWidget | None = None, *, max_lines: int = DEFAULT_MAX_LINES,
                 save_name: str = "logs.log") -> None:
        super().__init__(parent)
        self._buffer = LogBuffer(max_lines)
        self._styles: deque[Style] = deque(maxlen=max_lines)  # style each kept line starts in
        self._queue: deque[LogLine] = deque(maxlen=max_lines)
        self._queued = 0  # lines received into the queue, including ones it dropped
        self._parser = AnsiParser()
        self._matches = MatchTracker()
        self._formats = AnsiFormats(self.palette())
        self._paused = self._live = self._show_ts = False
        self._follow = True
        self._scrolling = False  # True while the viewer itself moves the scroll bar
        self._doc_empty = True
        self._has_highlights = False
        self._save_name = save_name
        self._saver = LogSaver(self)
        self._saver.sig_finished.connect(self._on_saved)
        self._build_ui(max_lines)

    # -- construction -----------------------------------------------------------------
    def _build_ui(self, max_lines: int) -> None:
        self.toolbar = LogToolbar(self)
        self._text = QPlainTextEdit(self)
        self._text.setReadOnly(True)
        self._text.setUndoRedoEnabled(False)
        self._text.setFrameShape(QPlainTextEdit.Shape.NoFrame)
        self._text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self._text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                           | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self._text.document().setDocumentMargin(6)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setStyleHint(QFont.StyleHint.TypeWriter)
        self._text.setFont(font)
        self._text.setTabStopDistance(8 * self._text.fontMetrics().horizontalAdvance(" "))
        self.empty_state = EmptyState(self)
        self._stack = QStackedWidget(self)
        self._stack.addWidget(self.empty_state)
        self._stack.addWidget(self._text)
        self.status_line = StatusLine(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self._stack, 1)
        layout.addWidget(self.status_line)

        self._flush_timer = QTimer(self, singleShot=True, interval=self.FLUSH_INTERVAL_MS)
        self._flush_timer.timeout.connect(self._on_flush_timer)
        self._search_timer = QTimer(self, singleShot=True, interval=150)
        self._search_timer.timeout.connect(self._apply_search)

        bar = self._text.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range_changed)
        tb = self.toolbar
        tb.pause_button.toggled.connect(self.set_paused)
        tb.badge_button.clicked.connect(lambda: self.set_paused(False))
        tb.follow_button.clicked.connect(self.scroll_to_end)
        tb.search_edit.textChanged.connect(lambda _text: self._search_timer.start())
        tb.search_edit.installEventFilter(self)
        tb.prev_button.clicked.connect(self.find_previous)
        tb.next_button.clicked.connect(self.find_next)
        tb.timestamps_button.toggled.connect(self.set_timestamps_visible)
        tb.wrap_button.toggled.connect(self.set_wrap)
        tb.copy_button.clicked.connect(self.copy)
        tb.save_button.clicked.connect(self._on_save_clicked)
        for keys, slot in ((QKeySequence.StandardKey.Find, self.focus_search),
                           (QKeySequence(Qt.Key.Key_F3), self.find_next),
                           (QKeySequence(Qt.Modifier.SHIFT | Qt.Key.Key_F3), self.find_previous)):
            shortcut = QShortcut(keys, self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self._refresh_chrome()

    # -- public API -------------------------------------------------------------------
    def append_lines(self, lines: list[LogLine]) -> None:
        """Queue lines; they are shown within ``FLUSH_INTERVAL_MS`` unless paused."""
        lines = normalize_lines(lines)
        if not lines:
            return
        self._queue.extend(lines)
        self._queued += len(lines)
        if self._paused:
            self.toolbar.set_pending(self._queued, self._queued - len(self._queue))
        elif not self._flush_timer.isActive():
            self._flush_timer.start(self.FLUSH_INTERVAL_MS)

    def flush(self) -> None:
        """Render every queued line now (tests and benchmarks; the timer renders in chunks)."""
        self._flush_timer.stop()
        while self._queue:
            self._render_queued(len(self._queue))

    def _on_flush_timer(self) -> None:
        """Render up to ``FLUSH_CHUNK`` lines; come straight back for the rest, letting
        other events run in between (a 10,000-line backlog must not freeze the UI)."""
        if self._paused or not self._queue:
            return
        self._render_queued(self.FLUSH_CHUNK)
        if self._queue:
            self._flush_timer.start(0)

    def _render_queued(self, limit: int) -> None:
        self._buffer.record_dropped(self._queued - len(self._queue))
        take = min(limit, len(self._queue))
        popleft = self._queue.popleft
        lines = [popleft() for _ in range(take)]
        self._queued = len(self._queue)
        entries = []
        parser = self._parser
        for line in lines:
            start = parser.style
            spans, parser.style = parse_line(line.text, start)
            self._styles.append(start)
            entries.append((line, spans))
        self._buffer.extend(lines)
        self._render(entries)
        self._matches.lines_added(self._buffer, len(lines))
        self._refresh_chrome()

    def clear(self) -> None:
        self._buffer.clear()
        self._styles.clear()
        self._queue.clear()
        self._queued = 0
        self._parser.reset()
        self._text.clear()
        self._doc_empty = True
        self._follow = True
        self._matches.set_query(self._matches.query, self._buffer)
        self.toolbar.set_pending(0, 0)
        self._refresh_chrome()

    def lines(self) -> list[LogLine]:
        """The kept lines, oldest first (lines still queued or paused are not included)."""
        return self._buffer.lines()

    def text_edit(self) -> QPlainTextEdit:
        """The read-only text view (for context menus, tests, accessibility tweaks)."""
        return self._text

    def dropped_count(self) -> int:
        return self._buffer.dropped

    def max_lines(self) -> int:
        return self._buffer.max_lines

    def set_max_lines(self, n: int) -> None:
        self._buffer.set_max_lines(n)
        self._styles = deque(self._styles, maxlen=n)
        self._queue = deque(self._queue, maxlen=n)
        self._scrolling = True
        self._trim()
        self._scrolling = False
        self._matches.lines_added(self._buffer, 0)
        self._refresh_chrome()

    def set_live(self, live: bool) -> None:
        self._live = live
        self.toolbar.set_live(live)
        self.empty_state.set_live(live)

    def is_live(self) -> bool:
        return self._live

    def set_paused(self, paused: bool) -> None:
        if paused == self._paused:
            return
        self._paused = paused
        self.toolbar.set_paused(paused)
        if not paused:
            self.toolbar.set_pending(0, 0)
            self._on_flush_timer()  # first chunk now, the rest on the next turns
            if self._follow:
                self.scroll_to_end()
        else:
            self._flush_timer.stop()
            self.toolbar.set_pending(self._queued, self._queued - len(self._queue))
        self.sig_pause_toggled.emit(paused)

    def is_paused(self) -> bool:
        return self._paused

    def is_following(self) -> bool:
        return self._follow

    def scroll_to_end(self) -> None:
        self._follow = True
        bar = self._text.verticalScrollBar()
        self._scrolling = True
        bar.setValue(bar.maximum())
        self._scrolling = False
        self._refresh_chrome()

    def set_timestamps_visible(self, visible: bool) -> None:
        self.toolbar.timestamps_button.setChecked(visible)
        if visible != self._show_ts:
            self._show_ts = visible
            self._rerender()

    def set_wrap(self, wrap: bool) -> None:
        self.toolbar.wrap_button.setChecked(wrap)
        self._text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth if wrap
                                   else QPlainTextEdit.LineWrapMode.NoWrap)

    def copy(self) -> str:
        """Copy the selection, or every kept line; return what was copied."""
        cursor = self._text.textCursor()
        if cursor.hasSelection():
            text = cursor.selection().toPlainText()
        else:
            text = self._buffer.export_text(timestamps=self._show_ts)
        QGuiApplication.clipboard().setText(text)
        self.status_line.set_message(f"Copied {text.count(chr(10)) or 1:,} line(s)")
        self._refresh_chrome()
        return text

    def save_to(self, path: str | Path) -> None:
        """Write the kept lines (with full timestamps) on a worker thread."""
        self.status_line.set_message("Saving…")
        self._refresh_chrome()
        self._saver.save(self._buffer.lines(), path, timestamps=True)

    # -- search -----------------------------------------------------------------------
    def focus_search(self) -> None:
        self.toolbar.search_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.toolbar.search_edit.selectAll()

    def search(self, text: str) -> int:
        """Set the search text and run it now; return the number of matches."""
        self.toolbar.search_edit.setText(text)
        self._apply_search()
        return len(self._matches)

    def find_next(self) -> None:
        self._step(forward=True)

    def find_previous(self) -> None:
        self._step(forward=False)

    def _apply_search(self) -> None:
        self._search_timer.stop()
        self._matches.set_query(self.toolbar.search_edit.text(), self._buffer)
        self._refresh_chrome()

    def _step(self, forward: bool) -> None:
        if self._search_timer.isActive():
            self._apply_search()
        match = self._matches.step(forward)
        if match is not None:
            self._reveal(match)
        self._refresh_chrome()

    def _reveal(self, match: Match) -> None:
        block = self._text.document().findBlockByNumber(match[0] - self._buffer.first_seq)
        first, last = visible_block_range(self._text)
        if first <= block.blockNumber() <= last:
            return
        self._text.setTextCursor(QTextCursor(block))
        self._text.centerCursor()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.toolbar.search_edit and event.type() == QEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._step(forward=not event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
                return True
            if event.key() == Qt.Key.Key_Escape:
                self.toolbar.search_edit.clear()
                self._apply_search()
                self._text.setFocus()
                return True
        return super().eventFilter(watched, event)

    # -- rendering --------------------------------------------------------------------
    def _render(self, entries: list[tuple[LogLine, list[tuple[str, Style]]]]) -> None:
        runs = build_runs(entries, self._show_ts, at_start=self._doc_empty)
        if not runs:
            if entries and self._doc_empty:  # only empty lines so far: one empty block
                self._doc_empty = False
            return
        bar = self._text.verticalScrollBar()
        self._scrolling = True
        insert_runs(self._text.document(), runs, self._formats)
        self._doc_empty = False
        evicted = self._trim()
        if self._follow:
            bar.setValue(bar.maximum())
        elif evicted > 0:
            bar.setValue(max(0, bar.value() - evicted))
        self._scrolling = False

    def _trim(self) -> int:
        return trim_to(self._text.document(), self._buffer.max_lines)

    def _rerender(self) -> None:
        """Rebuild the document from the buffer (timestamps toggled, palette changed)."""
        first, _last = visible_block_range(self._text)
        self._scrolling = True
        self._text.clear()
        self._doc_empty = True
        entries = [(line, parse_line(line.text, style)[0])
                   for line, style in zip(self._buffer, self._styles)]
        self._render(entries)
        if not self._follow:
            self._text.verticalScrollBar().setValue(first)
        self._scrolling = False
        self._refresh_chrome()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._formats = AnsiFormats(self.palette())
            if len(self._buffer):
                self._rerender()
        super().changeEvent(event)

    # -- scrolling, highlights, chrome ------------------------------------------------
    def _on_scrolled(self, value: int) -> None:
        if not self._scrolling:
            follow = value >= self._text.verticalScrollBar().maximum()
            if follow != self._follow:
                self._follow = follow
                self.toolbar.follow_button.setVisible(not follow)
        self._update_highlights()

    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._follow and not self._scrolling:
            self._scrolling = True
            self._text.verticalScrollBar().setValue(maximum)
            self._scrolling = False

    def _update_highlights(self) -> None:
        if self._matches.active and len(self._buffer):
            selections = match_selections(self._text, self._matches, self._buffer,
                                          self._formats, self._show_ts)
        elif self._has_highlights:
            selections = []
        else:
            return
        self._text.setExtraSelections(selections)
        self._has_highlights = bool(selections)

    def _refresh_chrome(self) -> None:
        has_lines = len(self._buffer) > 0
        self._stack.setCurrentWidget(self._text if has_lines else self.empty_state)
        self.toolbar.follow_button.setVisible(has_lines and not self._follow)
        self.toolbar.match_label.setText(self._matches.counter_text())
        has_matches = len(self._matches) > 0
        self.toolbar.prev_button.setEnabled(has_matches)
        self.toolbar.next_button.setEnabled(has_matches)
        self.status_line.update_counts(len(self._buffer), self._buffer.dropped, self._buffer.max_lines)
        self._update_highlights()

    def _on_save_clicked(self) -> None:
        path, _filter = QFileDialog.getSaveFileName(
            self, "Save log", str(Path.home() / self._save_name),
            "Log files (*.log);;Text files (*.txt);;All files (*)")
        if path:
            self.save_to(path)

    def _on_saved(self, path: str, count: int, error: str) -> None:
        self.status_line.set_message(f"Could not save: {error}" if error
                                 else f"Saved {count:,} lines to {Path(path).name}")
        self._refresh_chrome()
        self.sig_save_finished.emit(path, error)
