"""ANSI escape handling for log text: SGR styling kept, every other control sequence dropped.

Containers write terminal output (colour, bold, cursor moves, OSC 8 hyperlinks) into their
logs. The viewer wants only what changes how text looks, so this module turns a line into
``(text, Style)`` spans and silently removes everything else. It is Qt-free so the CLI and
exporters can strip logs too, and the UI maps a :class:`Style` to its own text format.

Colour state carries across lines (programs often set a colour on one line and reset it
several lines later), so :class:`AnsiParser` is stateful; :func:`parse_line` is the pure
variant that takes and returns the style explicitly.

Performance: most log lines contain no ESC at all, so both entry points check for
``"\\x1b"`` first and return the line untouched; SGR parameter strings repeat heavily, so
their effect on a given style is memoised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Color", "Style", "DEFAULT_STYLE", "AnsiParser", "parse_line", "strip_ansi"]

Color = int | tuple[int, int, int] | None
"""``None`` = the theme's default; ``int`` 0-255 = xterm palette index (0-15 are the
theme-dependent basic colours); ``(r, g, b)`` = 24-bit colour."""


@dataclass(frozen=True, slots=True)
class Style:
    fg: Color = None
    bg: Color = None
    bold: bool = False
    dim: bool = False
    italic: bool = False
    underline: bool = False
    inverse: bool = False

    @property
    def is_plain(self) -> bool:
        return self == DEFAULT_STYLE


DEFAULT_STYLE = Style()

# One alternation covers every escape form a terminal program emits:
#   CSI  ESC [ params intermediates final      (group 1 = params, group 2 = final)
#   OSC  ESC ] ... BEL | ESC \ | end of line   (hyperlinks, window titles)
#   DCS/SOS/PM/APC  ESC P|X|^|_ ... ESC \
#   two-byte escapes  ESC 7, ESC (B, ESC =, ...; and a lone trailing ESC;
#   plus a bare BEL, which only means something as an OSC terminator.
_ESCAPE_RE = re.compile(
    r"\x1b(?:"
    r"\[([0-?]*)[ -/]*([@-~])"
    r"|\][^\x07\x1b]*(?:\x07|\x1b\\|$)"
    r"|[PX^_][^\x1b]*(?:\x1b\\|$)"
    r"|[ -/]*[0-~]"
    r"|$)"
    r"|\x07"  # a BEL left over from a stripped OSC, or a program ringing the bell
)

# Styles are interned (equal styles produced here are usually the same object), so callers
# can merge runs with a cheap ``is`` check before the dataclass's Python-level __eq__, and
# the SGR cache keys on id(); it stores the style too and checks identity, so a reused id
# of a freed style can never return a wrong answer.
_INTERNED: dict[Style, Style] = {DEFAULT_STYLE: DEFAULT_STYLE}
_SGR_CACHE: dict[tuple[int, str], tuple[Style, Style]] = {}
_SGR_CACHE_LIMIT = 4096


def strip_ansi(text: str) -> str:
    """Return ``text`` with every escape sequence removed (the same object if it has none)."""
    if "\x1b" not in text:
        return text
    return _ESCAPE_RE.sub("", text)


def parse_line(text: str, style: Style = DEFAULT_STYLE) -> tuple[list[tuple[str, Style]], Style]:
    """Split ``text`` into styled spans, starting in ``style``; return spans and end style.

    Spans never hold empty text; adjacent spans may share a style when a sequence that
    changes nothing (or a stripped non-SGR sequence) sat between them.
    """
    if "\x1b" not in text:
        return ([(text, style)] if text else []), style
    spans: list[tuple[str, Style]] = []
    pos = 0
    for match in _ESCAPE_RE.finditer(text):
        start = match.start()
        if start > pos:
            spans.append((text[pos:start], style))
        pos = match.end()
        if match.group(2) == "m":
            style = _apply_sgr(style, match.group(1))
    if pos < len(text):
        spans.append((text[pos:], style))
    return spans, style


class AnsiParser:
    """Stateful line parser: the style at the end of one line is where the next starts."""

    __slots__ = ("style",)

    def __init__(self, style: Style = DEFAULT_STYLE) -> None:
        self.style = style

    def parse(self, text: str) -> list[tuple[str, Style]]:
        spans, self.style = parse_line(text, self.style)
        return spans

    def reset(self) -> None:
        self.style = DEFAULT_STYLE


def _apply_sgr(style: Style, params: str) -> Style:
    key = (id(style), params)
    cached = _SGR_CACHE.get(key)
    if cached is not None and cached[0] is style:
        return cached[1]
    if len(_SGR_CACHE) >= _SGR_CACHE_LIMIT or len(_INTERNED) >= _SGR_CACHE_LIMIT:
        _SGR_CACHE.clear()
        _INTERNED.clear()
        _INTERNED[DEFAULT_STYLE] = DEFAULT_STYLE
    result = _compute_sgr(style, params)
    result = _INTERNED.setdefault(result, result)
    _SGR_CACHE[key] = (style, result)
    return result


def _compute_sgr(style: Style, params: str) -> Style:
    if params and params[0] in "<=>?":
        return style  # private-mode sequence ending in "m" (e.g. xterm modifyKeys): not SGR
    attrs = {
        "fg": style.fg, "bg": style.bg, "bold": style.bold, "dim": style.dim,
        "italic": style.italic, "underline": style.underline, "inverse": style.inverse,
    }
    codes = params.split(";") if params else ["0"]
    i = 0
    while i < len(codes):
        raw = codes[i]
        i += 1
        if ":" in raw:  # ITU form: 38:5:n, 38:2::r:g:b, 4:3 (curly underline)
            _apply_colon_form(attrs, raw.split(":"))
            continue
        code = int(raw) if raw.isdigit() else 0
        if code in (38, 48):
            color, i = _extended_color(codes, i)
            if color is not _INVALID:
                attrs["fg" if code == 38 else "bg"] = color
        else:
            _apply_simple(attrs, code)
    return Style(**attrs)


_INVALID = object()


def _extended_color(codes: list[str], i: int) -> tuple[object, int]:
    """Read ``5;n`` or ``2;r;g;b`` after a 38/48; return the colour and the next index."""
    if i >= len(codes):
        return _INVALID, i
    mode = codes[i]
    if mode == "5" and i + 1 < len(codes):
        return _clamp_index(codes[i + 1]), i + 2
    if mode == "2" and i + 3 < len(codes):
        return _rgb(codes[i + 1:i + 4]), i + 4
    return _INVALID, len(codes)  # malformed: ignore the rest rather than misread it


def _apply_colon_form(attrs: dict, parts: list[str]) -> None:
    head = parts[0]
    if head in ("38", "48") and len(parts) >= 3:
        key = "fg" if head == "38" else "bg"
        if parts[1] == "5":
            color = _clamp_index(parts[2])
        elif parts[1] == "2" and len(parts) >= 5:
            color = _rgb(parts[-3:])
        else:
            return
        if color is not _INVALID:
            attrs[key] = color
    elif head == "4":
        attrs["underline"] = len(parts) < 2 or parts[1] not in ("", "0")


def _clamp_index(raw: str) -> object:
    return int(raw) if raw.isdigit() and int(raw) <= 255 else _INVALID


def _rgb(parts: list[str]) -> object:
    if not all(p.isdigit() for p in parts):
        return _INVALID
    r, g, b = (min(int(p), 255) for p in parts)
    return (r, g, b)


def _apply_simple(attrs: dict, code: int) -> None:
    if code == 0:
        attrs.update(fg=None, bg=None, bold=False, dim=False, italic=False,
                     underline=False, inverse=False)
    elif code == 1:
        attrs["bold"] = True
    elif code == 2:
        attrs["dim"] = True
    elif code == 3:
        attrs["italic"] = True
    elif code == 4:
        attrs["underline"] = True
    elif code == 7:
        attrs["inverse"] = True
    elif code == 22:
        attrs["bold"] = attrs["dim"] = False
    elif code == 23:
        attrs["italic"] = False
    elif code == 24:
        attrs["underline"] = False
    elif code == 27:
        attrs["inverse"] = False
    elif 30 <= code <= 37:
        attrs["fg"] = code - 30
    elif code == 39:
        attrs["fg"] = None
    elif 40 <= code <= 47:
        attrs["bg"] = code - 40
    elif code == 49:
        attrs["bg"] = None
    elif 90 <= code <= 97:
        attrs["fg"] = code - 90 + 8
    elif 100 <= code <= 107:
        attrs["bg"] = code - 100 + 8
    # everything else (blink, fonts, frames, ...) has no visible meaning in a log view
