"""LogBuffer: bounded, counts what it drops, searches visible text, exports plain text."""

from __future__ import annotations

from basepod_agent.protocol import LogLine

from basepod_desktop.core.logbuffer import LogBuffer, normalize_lines, short_timestamp


def lines(count: int, start: int = 0) -> list[LogLine]:
    return [LogLine(text=f"line {i}") for i in range(start, start + count)]


def test_buffer_defaults_to_ten_thousand_lines():
    assert LogBuffer().max_lines == 10_000


def test_buffer_keeps_newest_lines_and_counts_dropped():
    buffer = LogBuffer(max_lines=5)
    buffer.extend(lines(3))
    assert buffer.dropped == 0
    assert buffer.extend(lines(4, start=3)) == 2
    for line in lines(2, start=7):
        buffer.append(line)
    assert [line.text for line in buffer] == [f"line {i}" for i in range(4, 9)]
    assert buffer.dropped == 4
    assert buffer.total == 9
    assert buffer.first_seq == 4


def test_shrinking_the_bound_drops_the_oldest_lines():
    buffer = LogBuffer(max_lines=10)
    buffer.extend(lines(10))
    assert buffer.set_max_lines(4) == 6
    assert [line.text for line in buffer] == ["line 6", "line 7", "line 8", "line 9"]
    assert buffer.dropped == 6


def test_search_is_case_insensitive_and_ignores_escape_codes():
    buffer = LogBuffer()
    buffer.extend([LogLine(text="\x1b[31mERROR\x1b[0m disk full"), LogLine(text="all good"),
                   LogLine(text="Error again"), LogLine(text="\x1b[31mred but fine")])
    assert buffer.search("error") == [0, 2]
    assert buffer.search("31m") == []
    assert buffer.search("error", start=1) == [2]
    assert buffer.search("") == []


def test_export_writes_plain_text_with_optional_timestamps(tmp_path):
    buffer = LogBuffer()
    buffer.extend([LogLine(ts="2025-01-01T00:00:00Z", text="\x1b[32mok\x1b[0m"), LogLine(text="x")])
    assert buffer.export_text() == "2025-01-01T00:00:00Z ok\nx\n"
    assert buffer.export_text(timestamps=False) == "ok\nx\n"
    path = tmp_path / "out.log"
    assert buffer.write_to(path) == 2
    assert path.read_text(encoding="utf-8") == "2025-01-01T00:00:00Z ok\nx\n"


def test_clear_forgets_lines_and_counters():
    buffer = LogBuffer(max_lines=2)
    buffer.extend(lines(5))
    buffer.clear()
    assert (len(buffer), buffer.dropped, buffer.total) == (0, 0, 0)


def test_normalize_splits_newlines_and_keeps_last_carriage_return_segment():
    out = normalize_lines([LogLine(ts="t", text="a\nb\n"), LogLine(text="10%\r50%\r100%\r\n"),
                           LogLine(text="bell\x07 nul\x00 tab\tkept"),
                           LogLine(text="\x1b]8;;u\x07link\x1b]8;;\x07\x00")])
    assert [(line.ts, line.text) for line in out] == [
        ("t", "a"), ("t", "b"), (None, "100%"), (None, "bell nul tab\tkept"),
        (None, "\x1b]8;;u\x07link\x1b]8;;\x07")]  # BEL kept: it terminates the OSC


def test_normalize_passes_ordinary_lines_through_unchanged():
    line = LogLine(text="plain")
    assert normalize_lines([line])[0] is line


def test_short_timestamp_shows_time_of_day_with_milliseconds():
    assert short_timestamp("2025-03-14T09:26:53.101234567Z") == "09:26:53.101"
    assert short_timestamp("2025-03-14T09:26:53Z") == "09:26:53    "
    assert short_timestamp("yesterday") == "yesterday"
    assert short_timestamp(None) == ""
