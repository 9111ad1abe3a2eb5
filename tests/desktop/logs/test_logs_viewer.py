"""LogViewer behaviour: bounded, pausable, searchable, follows the tail, copies and saves."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QTextCursor
from PySide6.QtWidgets import QFileDialog

from basepod_agent.protocol import LogLine

from basepod_desktop.ui.logs import LogViewer
from basepod_desktop.ui.logs.highlight import visible_block_range


def numbered(count: int, start: int = 0, word: str = "line") -> list[LogLine]:
    return [LogLine(text=f"{word} {i}") for i in range(start, start + count)]


@pytest.fixture
def viewer(qtbot):
    widget = LogViewer()
    qtbot.addWidget(widget)
    widget.resize(900, 400)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def block_texts(viewer: LogViewer) -> list[str]:
    return viewer.text_edit().toPlainText().split("\n")


def first_visible_text(viewer: LogViewer) -> str:
    return viewer.text_edit().firstVisibleBlock().text()


def test_lines_are_coalesced_and_shown_after_the_flush_interval(viewer, qtbot):
    viewer.append_lines(numbered(3))
    viewer.append_lines(numbered(2, start=3))
    assert viewer.lines() == []  # not rendered per batch
    qtbot.waitUntil(lambda: len(viewer.lines()) == 5, timeout=1000)
    assert block_texts(viewer) == [f"line {i}" for i in range(5)]


def test_viewer_keeps_only_max_lines_after_appending_more(viewer, qtbot):
    viewer.set_max_lines(100)
    for start in range(0, 250, 50):
        viewer.append_lines(numbered(50, start=start))
    qtbot.waitUntil(lambda: bool(viewer.lines()) and viewer.lines()[-1].text == "line 249", timeout=1000)
    assert len(viewer.lines()) == 100
    assert viewer.text_edit().document().blockCount() == 100
    assert block_texts(viewer)[0] == "line 150"
    assert viewer.dropped_count() == 150
    assert "150 older dropped" in viewer.status_line.text()


def test_shrinking_max_lines_trims_the_view(viewer):
    viewer.append_lines(numbered(300))
    viewer.flush()
    viewer.set_max_lines(50)
    assert len(viewer.lines()) == 50
    assert block_texts(viewer)[0] == "line 250"


def test_pause_buffers_incoming_lines_and_resume_flushes(viewer, qtbot):
    viewer.append_lines(numbered(10))
    viewer.flush()
    with qtbot.waitSignal(viewer.sig_pause_toggled) as paused:
        qtbot.mouseClick(viewer.toolbar.pause_button, Qt.MouseButton.LeftButton)
    assert paused.args == [True] and viewer.is_paused()
    viewer.append_lines(numbered(5, start=10))
    qtbot.wait(3 * LogViewer.FLUSH_INTERVAL_MS)
    assert len(viewer.lines()) == 10
    assert viewer.toolbar.badge_button.isVisible()
    assert viewer.toolbar.badge_button.text() == "5 new lines"
    with qtbot.waitSignal(viewer.sig_pause_toggled) as resumed:
        qtbot.mouseClick(viewer.toolbar.badge_button, Qt.MouseButton.LeftButton)
    assert resumed.args == [False]
    assert [line.text for line in viewer.lines()][-5:] == [f"line {i}" for i in range(10, 15)]
    assert not viewer.toolbar.badge_button.isVisible()


def test_pause_queue_is_bounded_and_counts_what_it_dropped(viewer):
    viewer.set_max_lines(50)
    viewer.set_paused(True)
    viewer.append_lines(numbered(120))
    assert viewer.toolbar.badge_button.text() == "120 new lines"
    viewer.set_paused(False)
    assert [line.text for line in viewer.lines()] == [f"line {i}" for i in range(70, 120)]
    assert viewer.dropped_count() == 70


def test_large_backlog_is_rendered_in_chunks_across_event_loop_turns(viewer, qtbot):
    viewer.set_paused(True)
    viewer.append_lines(numbered(10_000))
    viewer.set_paused(False)
    assert len(viewer.lines()) == LogViewer.FLUSH_CHUNK  # the rest after other events ran
    qtbot.waitUntil(lambda: len(viewer.lines()) == 10_000, timeout=5000)
    assert block_texts(viewer)[-1] == "line 9999"
    assert viewer.text_edit().document().blockCount() == 10_000


def test_search_finds_and_highlights_every_match_in_view(viewer):
    viewer.append_lines([LogLine(text=f"{'ERROR' if i % 3 == 0 else 'info'} request {i} error")
                         for i in range(12)])
    viewer.flush()
    assert viewer.search("error") == 4 + 12  # case-insensitive, two per ERROR line
    assert viewer.toolbar.match_label.text() == "0 of 16"
    assert len(viewer.text_edit().extraSelections()) == 16  # all 12 lines are on screen
    viewer.search("no such text")
    assert viewer.toolbar.match_label.text() == "No matches"
    assert viewer.text_edit().extraSelections() == []


def test_next_and_previous_move_through_matches_and_wrap(viewer):
    viewer.append_lines(numbered(5, word="needle") + numbered(5, word="hay"))
    viewer.flush()
    viewer.search("needle")
    viewer.find_next()
    assert viewer.toolbar.match_label.text() == "1 of 5"
    viewer.find_next()
    assert viewer.toolbar.match_label.text() == "2 of 5"
    viewer.find_previous()
    viewer.find_previous()
    assert viewer.toolbar.match_label.text() == "5 of 5"
    current = [s for s in viewer.text_edit().extraSelections()
               if s.format.background() == viewer._formats.current_match.background()]
    assert [s.cursor.selectedText() for s in current] == ["needle"]
    assert current[0].cursor.block().text() == "needle 4"


def test_enter_shift_enter_and_f3_navigate_matches(viewer, qtbot):
    viewer.append_lines(numbered(3, word="needle"))
    viewer.flush()
    viewer.activateWindow()
    qtbot.keyClick(viewer, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert viewer.toolbar.search_edit.hasFocus()
    qtbot.keyClicks(viewer.toolbar.search_edit, "NEEDLE")
    qtbot.keyClick(viewer.toolbar.search_edit, Qt.Key.Key_Return)
    assert viewer.toolbar.match_label.text() == "1 of 3"
    qtbot.keyClick(viewer.toolbar.search_edit, Qt.Key.Key_Return)
    assert viewer.toolbar.match_label.text() == "2 of 3"
    qtbot.keyClick(viewer.toolbar.search_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert viewer.toolbar.match_label.text() == "1 of 3"
    qtbot.keyClick(viewer.toolbar.search_edit, Qt.Key.Key_F3)
    assert viewer.toolbar.match_label.text() == "2 of 3"


def test_next_match_scrolls_an_off_screen_match_into_view(viewer):
    viewer.append_lines(numbered(5) + [LogLine(text="the needle")] + numbered(2000, start=6))
    viewer.flush()
    assert viewer.search("needle") == 1
    viewer.find_next()
    first, last = visible_block_range(viewer.text_edit())
    assert first <= 5 <= last
    assert not viewer.is_following()


def test_search_tracks_matches_in_lines_arriving_later(viewer):
    viewer.set_max_lines(10)
    viewer.append_lines(numbered(10, word="needle"))
    viewer.flush()
    assert viewer.search("needle") == 10
    viewer.append_lines(numbered(4, word="hay") + numbered(1, word="needle"))
    viewer.flush()
    assert viewer.toolbar.match_label.text() == "0 of 6"  # 5 evicted, 1 new


def test_autoscroll_follows_tail_until_user_scrolls_up(viewer):
    bar = viewer.text_edit().verticalScrollBar()
    viewer.append_lines(numbered(500))
    viewer.flush()
    assert bar.value() == bar.maximum() > 0
    bar.setValue(100)  # what a wheel or drag does
    reading = first_visible_text(viewer)
    assert not viewer.is_following()
    assert viewer.toolbar.follow_button.isVisible()
    viewer.append_lines(numbered(100, start=500))
    viewer.flush()
    assert bar.value() < bar.maximum()
    assert first_visible_text(viewer) == reading
    bar.setValue(bar.maximum())  # back at the bottom: follow again
    assert viewer.is_following()
    viewer.append_lines(numbered(100, start=600))
    viewer.flush()
    assert bar.value() == bar.maximum()
    assert block_texts(viewer)[-1] == "line 699"


def test_view_does_not_drift_when_old_lines_are_evicted_while_reading(viewer):
    viewer.set_max_lines(300)
    viewer.append_lines(numbered(300))
    viewer.flush()
    viewer.text_edit().verticalScrollBar().setValue(150)
    reading = first_visible_text(viewer)
    viewer.append_lines(numbered(40, start=300))
    viewer.flush()
    assert first_visible_text(viewer) == reading


def test_copy_without_selection_puts_all_lines_on_clipboard_as_plain_text(viewer, qtbot):
    viewer.append_lines([LogLine(ts="2025-01-01T10:00:00.5Z", text="\x1b[31mred\x1b[0m one"),
                         LogLine(text="two")])
    viewer.flush()
    qtbot.mouseClick(viewer.toolbar.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == "red one\ntwo\n"
    viewer.set_timestamps_visible(True)
    viewer.copy()
    assert QGuiApplication.clipboard().text() == "2025-01-01T10:00:00.5Z red one\ntwo\n"


def test_copy_with_selection_copies_only_the_selection(viewer):
    viewer.append_lines(numbered(3))
    viewer.flush()
    cursor = viewer.text_edit().textCursor()
    cursor.setPosition(0)
    cursor.movePosition(QTextCursor.MoveOperation.Down, QTextCursor.MoveMode.KeepAnchor)
    cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
    viewer.text_edit().setTextCursor(cursor)
    assert viewer.copy() == "line 0\nline 1"
    assert QGuiApplication.clipboard().text() == "line 0\nline 1"


def test_save_writes_the_kept_lines_to_the_chosen_file(viewer, qtbot, tmp_path, monkeypatch):
    target = tmp_path / "app.log"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *args, **kwargs: (str(target), "")))
    viewer.append_lines([LogLine(ts="2025-01-01T00:00:00Z", text="\x1b[32mok\x1b[0m"),
                         LogLine(text="done")])
    viewer.flush()
    with qtbot.waitSignal(viewer.sig_save_finished) as saved:
        qtbot.mouseClick(viewer.toolbar.save_button, Qt.MouseButton.LeftButton)
    assert saved.args == [str(target), ""]
    assert target.read_text(encoding="utf-8") == "2025-01-01T00:00:00Z ok\ndone\n"
    assert "Saved 2 lines to app.log" in viewer.status_line.text()


def test_saving_ten_thousand_lines_returns_to_the_event_loop_at_once(viewer, qtbot, tmp_path):
    viewer.append_lines([LogLine(ts="2025-01-01T00:00:00Z", text=f"\x1b[33mline\x1b[0m {i} " + "x" * 80)
                         for i in range(10_000)])
    viewer.flush()
    target = tmp_path / "big.log"
    with qtbot.waitSignal(viewer.sig_save_finished, timeout=10_000):
        started = time.perf_counter()
        viewer.save_to(target)
        blocked = time.perf_counter() - started
    assert blocked < 0.05, f"save blocked the UI thread for {blocked * 1000:.0f} ms"
    assert len(target.read_text(encoding="utf-8").splitlines()) == 10_000


def test_save_failure_is_reported_not_raised(viewer, qtbot, tmp_path):
    viewer.append_lines(numbered(1))
    viewer.flush()
    with qtbot.waitSignal(viewer.sig_save_finished) as saved:
        viewer.save_to(tmp_path / "missing-dir" / "x.log")
    assert saved.args[1]
    assert "Could not save" in viewer.status_line.text()


def test_empty_state_explains_what_to_expect_and_live_indicator_shows_connection(viewer):
    assert viewer.empty_state.isVisible()
    assert viewer.empty_state.title.text() == "No logs yet"
    assert "Disconnected" in viewer.toolbar.live_label.text()
    viewer.set_live(True)
    assert viewer.empty_state.title.text() == "Waiting for log output…"
    assert "Live" in viewer.toolbar.live_label.text()
    viewer.append_lines(numbered(1))
    viewer.flush()
    assert not viewer.empty_state.isVisible()
    viewer.clear()
    assert viewer.empty_state.isVisible() and viewer.lines() == []


def test_timestamps_toggle_prefixes_each_line_with_its_time(viewer, qtbot):
    viewer.append_lines([LogLine(ts="2025-03-14T09:26:53.101Z", text="hello"), LogLine(text="no ts")])
    viewer.flush()
    qtbot.mouseClick(viewer.toolbar.timestamps_button, Qt.MouseButton.LeftButton)
    assert block_texts(viewer) == ["09:26:53.101 hello", "no ts"]
    viewer.search("hello")
    viewer.find_next()
    current = viewer.text_edit().extraSelections()
    assert [s.cursor.selectedText() for s in current] == ["hello"]
    qtbot.mouseClick(viewer.toolbar.timestamps_button, Qt.MouseButton.LeftButton)
    assert block_texts(viewer) == ["hello", "no ts"]


def test_wrap_toggle_switches_line_wrapping(viewer, qtbot):
    edit = viewer.text_edit()
    assert edit.lineWrapMode() == edit.LineWrapMode.NoWrap
    qtbot.mouseClick(viewer.toolbar.wrap_button, Qt.MouseButton.LeftButton)
    assert edit.lineWrapMode() == edit.LineWrapMode.WidgetWidth


def test_ansi_colours_become_text_formats_and_escapes_are_not_shown(viewer):
    viewer.append_lines([LogLine(text="\x1b[1;31mERROR\x1b[0m plain"), LogLine(text="\x1b[2Kclean"),
                         LogLine(text="see \x1b]8;;https://x.io\x07the docs\x1b]8;;\x07 \x07!")])
    viewer.flush()
    assert block_texts(viewer) == ["ERROR plain", "clean", "see the docs !"]
    block = viewer.text_edit().document().firstBlock()
    fragment = block.begin().fragment()
    assert fragment.text() == "ERROR"
    assert fragment.charFormat().fontWeight() == 700
    assert fragment.charFormat().foreground().color().red() > 150


def test_font_is_monospace(viewer):
    from PySide6.QtGui import QFontInfo
    assert QFontInfo(viewer.text_edit().font()).fixedPitch()
