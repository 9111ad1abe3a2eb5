"""ANSI parsing: SGR becomes styles, every other escape disappears, state spans lines."""

from __future__ import annotations

import pytest

from basepod_desktop.core.ansi import DEFAULT_STYLE, AnsiParser, Style, parse_line, strip_ansi

S = Style
RED = S(fg=1)

# (case id, input, start style, expected spans, expected end style)
PARSE_CASES = [
    ("plain text is one span", "hello", DEFAULT_STYLE, [("hello", DEFAULT_STYLE)], DEFAULT_STYLE),
    ("empty line has no spans", "", DEFAULT_STYLE, [], DEFAULT_STYLE),
    ("basic fg then reset", "\x1b[31mred\x1b[0m ok", DEFAULT_STYLE,
     [("red", RED), (" ok", DEFAULT_STYLE)], DEFAULT_STYLE),
    ("bright fg", "\x1b[92mgo", DEFAULT_STYLE, [("go", S(fg=10))], S(fg=10)),
    ("basic bg", "\x1b[44mx", DEFAULT_STYLE, [("x", S(bg=4))], S(bg=4)),
    ("bright bg", "\x1b[103mx", DEFAULT_STYLE, [("x", S(bg=11))], S(bg=11)),
    ("256 colour fg", "\x1b[38;5;208mx", DEFAULT_STYLE, [("x", S(fg=208))], S(fg=208)),
    ("256 colour bg", "\x1b[48;5;17mx", DEFAULT_STYLE, [("x", S(bg=17))], S(bg=17)),
    ("truecolor fg", "\x1b[38;2;1;2;3mx", DEFAULT_STYLE, [("x", S(fg=(1, 2, 3)))], S(fg=(1, 2, 3))),
    ("truecolor bg colon form", "\x1b[48:2::9:8:7mx", DEFAULT_STYLE,
     [("x", S(bg=(9, 8, 7)))], S(bg=(9, 8, 7))),
    ("combined params", "\x1b[1;3;4;31;47mx", DEFAULT_STYLE,
     [("x", S(fg=1, bg=7, bold=True, italic=True, underline=True))],
     S(fg=1, bg=7, bold=True, italic=True, underline=True)),
    ("dim", "\x1b[2mx", DEFAULT_STYLE, [("x", S(dim=True))], S(dim=True)),
    ("22 clears bold and dim", "\x1b[1;2ma\x1b[22mb", DEFAULT_STYLE,
     [("a", S(bold=True, dim=True)), ("b", DEFAULT_STYLE)], DEFAULT_STYLE),
    ("23 clears italic", "\x1b[3ma\x1b[23mb", DEFAULT_STYLE,
     [("a", S(italic=True)), ("b", DEFAULT_STYLE)], DEFAULT_STYLE),
    ("24 clears underline", "\x1b[4ma\x1b[24mb", DEFAULT_STYLE,
     [("a", S(underline=True)), ("b", DEFAULT_STYLE)], DEFAULT_STYLE),
    ("39 resets fg only", "\x1b[1;31ma\x1b[39mb", DEFAULT_STYLE,
     [("a", S(fg=1, bold=True)), ("b", S(bold=True))], S(bold=True)),
    ("49 resets bg only", "\x1b[31;42ma\x1b[49mb", DEFAULT_STYLE,
     [("a", S(fg=1, bg=2)), ("b", RED)], RED),
    ("empty SGR means reset", "\x1b[31ma\x1b[mb", DEFAULT_STYLE,
     [("a", RED), ("b", DEFAULT_STYLE)], DEFAULT_STYLE),
    ("style carried in from previous line", "still red\x1b[0m", RED,
     [("still red", RED)], DEFAULT_STYLE),
    ("cursor moves and erase are stripped", "\x1b[2K\x1b[1Gdone\x1b[?25h", DEFAULT_STYLE,
     [("done", DEFAULT_STYLE)], DEFAULT_STYLE),
    ("OSC 8 hyperlink is stripped, text kept", "\x1b]8;;https://x.io\x07link\x1b]8;;\x1b\\!",
     DEFAULT_STYLE, [("link", DEFAULT_STYLE), ("!", DEFAULT_STYLE)], DEFAULT_STYLE),
    ("window title OSC stripped", "\x1b]0;title\x07body", DEFAULT_STYLE,
     [("body", DEFAULT_STYLE)], DEFAULT_STYLE),
    ("private mode ending in m is not SGR", "\x1b[>4;2mx", DEFAULT_STYLE,
     [("x", DEFAULT_STYLE)], DEFAULT_STYLE),
    ("malformed 38 is ignored", "\x1b[38;5mx", DEFAULT_STYLE, [("x", DEFAULT_STYLE)], DEFAULT_STYLE),
    ("lone trailing ESC is dropped", "abc\x1b", DEFAULT_STYLE, [("abc", DEFAULT_STYLE)],
     DEFAULT_STYLE),
    ("charset designation stripped", "\x1b(Bx", DEFAULT_STYLE, [("x", DEFAULT_STYLE)], DEFAULT_STYLE),
]


@pytest.mark.parametrize("text, start, spans, end", [c[1:] for c in PARSE_CASES],
                         ids=[c[0] for c in PARSE_CASES])
def test_parse_line_turns_sgr_into_styles_and_strips_other_escapes(text, start, spans, end):
    assert parse_line(text, start) == (spans, end)


def test_parser_carries_colour_across_lines_until_reset():
    parser = AnsiParser()
    assert parser.parse("\x1b[33mwarn: multi") == [("warn: multi", S(fg=3))]
    assert parser.parse("line continues") == [("line continues", S(fg=3))]
    assert parser.parse("end\x1b[0m here") == [("end", S(fg=3)), (" here", DEFAULT_STYLE)]
    assert parser.parse("plain") == [("plain", DEFAULT_STYLE)]


@pytest.mark.parametrize("text, expected", [
    ("no escapes", "no escapes"),
    ("\x1b[1;31mERROR\x1b[0m boom", "ERROR boom"),
    ("\x1b]8;;http://a\x07a\x1b]8;;\x07", "a"),
    ("\x1b[2J\x1b[Hclear", "clear"),
], ids=["plain", "sgr", "osc8", "cursor"])
def test_strip_ansi_leaves_only_visible_text(text, expected):
    assert strip_ansi(text) == expected


def test_strip_ansi_returns_the_same_object_for_lines_without_escapes():
    text = "a line without escapes"
    assert strip_ansi(text) is text


def test_spans_join_to_the_stripped_text():
    """The viewer relies on this to map search columns onto rendered text."""
    text = "\x1b[1mA\x1b[0m b \x1b]8;;u\x07c\x1b]8;;\x07 \x1b[38;5;1md\x1b[K"
    spans, _ = parse_line(text)
    assert "".join(t for t, _style in spans) == strip_ansi(text)
