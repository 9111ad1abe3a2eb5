"""Map ANSI :class:`Style` values to QTextCharFormats that read well on light and dark themes.

Terminal programs assume a dark terminal; the app follows the system theme. So the 16
basic colours come from one of two hand-picked tables, chosen by the lightness of the
palette's base colour: "black" stays visible on a dark background and "white"/"yellow"
stay visible on a light one. 256-colour and 24-bit colours are used as given (the
program chose them deliberately). Formats are built once per style and cached, because
the viewer formats thousands of spans per second.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette, QTextCharFormat

from basepod_desktop.core.ansi import Color, Style

__all__ = ["AnsiFormats", "is_dark"]

# black, red, green, yellow, blue, magenta, cyan, white, then the bright variants
_DARK_THEME = (
    "#6b7280", "#f87171", "#86efac", "#facc15", "#60a5fa", "#e879f9", "#67e8f9", "#d1d5db",
    "#9ca3af", "#fca5a5", "#bbf7d0", "#fde68a", "#93c5fd", "#f0abfc", "#a5f3fc", "#ffffff",
)
_LIGHT_THEME = (
    "#1f2328", "#c2410c", "#15803d", "#a16207", "#1d4ed8", "#a21caf", "#0e7490", "#6b7280",
    "#57606a", "#dc2626", "#16a34a", "#ca8a04", "#2563eb", "#c026d3", "#0891b2", "#9ca3af",
)
_CUBE_LEVELS = (0, 95, 135, 175, 215, 255)


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


class AnsiFormats:
    """Cached formats for one palette; build a new instance when the palette changes."""

    def __init__(self, palette: QPalette) -> None:
        self.dark = is_dark(palette)
        self._basic = [QColor(c) for c in (_DARK_THEME if self.dark else _LIGHT_THEME)]
        self._text = palette.color(QPalette.ColorRole.Text)
        self._base = palette.color(QPalette.ColorRole.Base)
        self._cache: dict[int, tuple[Style, QTextCharFormat]] = {}  # by id: Style hashing is slow
        self.plain = QTextCharFormat()  # empty: the view's palette decides, so it follows theme
        self.timestamp = QTextCharFormat()
        self.timestamp.setForeground(_blend(self._text, self._base, 0.5))
        self.match = QTextCharFormat()
        self.match.setBackground(QColor("#6b5a1e" if self.dark else "#fdf0a6"))
        self.current_match = QTextCharFormat()
        self.current_match.setBackground(QColor("#d97706" if self.dark else "#fb923c"))
        self.current_match.setForeground(QColor("#111111"))

    def color(self, value: Color) -> QColor | None:
        """The QColor for an ANSI colour value, or None for the theme default."""
        if value is None:
            return None
        if isinstance(value, tuple):
            return QColor(*value)
        if value < 16:
            return self._basic[value]
        if value < 232:
            n = value - 16
            return QColor(_CUBE_LEVELS[n // 36], _CUBE_LEVELS[(n // 6) % 6], _CUBE_LEVELS[n % 6])
        grey = 8 + 10 * (value - 232)
        return QColor(grey, grey, grey)

    def for_style(self, style: Style) -> QTextCharFormat:
        cached = self._cache.get(id(style))
        if cached is not None and cached[0] is style:
            return cached[1]
        if len(self._cache) > 4096:
            self._cache.clear()
        fmt = self._build(style)
        self._cache[id(style)] = (style, fmt)
        return fmt

    def _build(self, style: Style) -> QTextCharFormat:
        if style.is_plain:
            return self.plain
        fg, bg = self.color(style.fg), self.color(style.bg)
        if style.inverse:
            fg, bg = (bg or self._base), (fg or self._text)
        if bg is not None and (fg is None or abs(fg.lightness() - bg.lightness()) < 80):
            # default or too-similar text on a coloured background (e.g. 30;42 on a dark
            # theme, where "black" is a light grey): pick whichever of near-black/white reads
            fg = QColor("#111111") if bg.lightness() > 140 else QColor("#f5f5f5")
        if style.dim:
            fg = _blend(fg or self._text, bg or self._base, 0.55)
        fmt = QTextCharFormat()
        if fg is not None:
            fmt.setForeground(fg)
        if bg is not None:
            fmt.setBackground(bg)
        if style.bold:
            fmt.setFontWeight(QFont.Weight.Bold)
        if style.italic:
            fmt.setFontItalic(True)
        if style.underline:
            fmt.setFontUnderline(True)
        return fmt


def _blend(color: QColor, toward: QColor, amount: float) -> QColor:
    keep = 1.0 - amount
    return QColor(
        round(color.red() * keep + toward.red() * amount),
        round(color.green() * keep + toward.green() * amount),
        round(color.blue() * keep + toward.blue() * amount),
    )
