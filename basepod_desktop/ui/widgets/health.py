"""Health at a glance: the green/yellow/red dot and the coloured band over time.

The dot is painted by one function so the dashboard's delegate, the fleet cards and
the app header look alike. The band is custom painted (not a chart): it is a handful of
spans, and a plain painter keeps it crisp and themeable.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from basepod_agent.protocol import HealthTransition
from basepod_desktop.ui import theme

HEALTH_ROLE = Qt.ItemDataRole.UserRole + 11  # "green" | "yellow" | "red" | None
RESTART_ROLE = Qt.ItemDataRole.UserRole + 12  # bool: env changed, apply needed


def paint_dot(painter: QPainter, center_x: float, center_y: float, status: Optional[str], size: float = 10) -> None:
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    color = theme.health_color(status)
    if status is None:  # not monitored: a hollow ring, so it does not read as "grey = down"
        painter.setPen(QPen(color, 1.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
    else:
        painter.setPen(Qt.PenStyle.NoPen)
        halo = QColor(color)
        halo.setAlpha(60)
        painter.setBrush(halo)
        painter.drawEllipse(QRectF(center_x - size / 2 - 3, center_y - size / 2 - 3, size + 6, size + 6))
        painter.setBrush(color)
    painter.drawEllipse(QRectF(center_x - size / 2, center_y - size / 2, size, size))
    painter.restore()


def paint_cell_background(delegate: QStyledItemDelegate, painter: QPainter, option: QStyleOptionViewItem,
                          index) -> None:
    """The row's selection and hover background without its text: custom cells paint over it."""
    opt = QStyleOptionViewItem(option)
    delegate.initStyleOption(opt, index)
    opt.text = ""
    if opt.widget is not None:
        opt.widget.style().drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)


class HealthDelegate(QStyledItemDelegate):
    """The dashboard's Health column: a dot, its word, and a "restart needed" tag."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        paint_cell_background(self, painter, option, index)
        status = index.data(HEALTH_ROLE)
        rect = option.rect
        paint_dot(painter, rect.x() + 16, rect.center().y() + 1, status, 9)
        painter.save()
        painter.setPen(QColor(theme.colors().text if status else theme.colors().muted))
        text_rect = rect.adjusted(30, 0, 0, 0)
        label = theme.HEALTH_LABELS.get(status, "")
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter, label)
        if index.data(RESTART_ROLE):
            x = text_rect.x() + QFontMetrics(option.font).horizontalAdvance(label) + 10
            _paint_tag(painter, QRect(x, rect.y(), rect.right() - x, rect.height()), "restart needed", option.font)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        return QSize(250, 36)


def _paint_tag(painter: QPainter, rect: QRect, text: str, font) -> None:
    color = QColor(theme.colors().warning)
    metrics = QFontMetrics(font)
    height = metrics.height() + 2
    box = QRectF(rect.x(), rect.center().y() - height / 2 + 1, metrics.horizontalAdvance(text) + 14, height)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(color, 1))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRoundedRect(box, 4, 4)
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)


class HealthDot(QWidget):
    def __init__(self, size: int = 12, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status: Optional[str] = None
        self._size = size
        self.setFixedSize(size + 8, size + 8)

    def set_status(self, status: Optional[str]) -> None:
        self.status = status
        self.setToolTip(theme.HEALTH_LABELS.get(status, ""))
        self.update()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        paint_dot(painter, self.width() / 2, self.height() / 2, self.status, self._size)


class HealthBand(QWidget):
    """Spans of green/yellow/red between transitions, over the last ``window``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(46)
        self.transitions: list[HealthTransition] = []
        self.start: datetime = datetime.now(timezone.utc) - timedelta(minutes=10)
        self.end: datetime = datetime.now(timezone.utc)

    def set_data(self, transitions: list[HealthTransition], start: datetime, end: datetime) -> None:
        self.transitions = sorted(transitions, key=lambda t: t.at)
        self.start, self.end = start, max(end, start + timedelta(seconds=1))
        self.update()

    def spans(self) -> list[tuple[datetime, datetime, Optional[str]]]:
        """(from, to, status) clipped to the window; before the first transition: unknown."""
        spans: list[tuple[datetime, datetime, Optional[str]]] = []
        status: Optional[str] = None
        cursor = self.start
        for t in self.transitions:
            at = _utc(t.at)
            if at > cursor:
                spans.append((cursor, min(at, self.end), status))
                cursor = min(at, self.end)
            status = t.status.value if t.status else None
        if cursor < self.end:
            spans.append((cursor, self.end, status))
        return [s for s in spans if s[1] > s[0]]

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        band = QRectF(0, 4, self.width(), self.height() - 22)
        total = (self.end - self.start).total_seconds()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(theme.colors().window))
        painter.drawRoundedRect(band, 6, 6)
        clip = QPainterPath()
        clip.addRoundedRect(band, 6, 6)
        painter.setClipPath(clip)
        for begin, finish, status in self.spans():
            if status is None:
                continue
            x0 = band.x() + band.width() * (begin - self.start).total_seconds() / total
            x1 = band.x() + band.width() * (finish - self.start).total_seconds() / total
            painter.setBrush(theme.health_color(status))
            painter.drawRect(QRectF(x0, band.y(), max(1.5, x1 - x0), band.height()))
        painter.setClipping(False)
        painter.setPen(QColor(theme.colors().muted))
        metrics = QFontMetrics(self.font())
        y = int(band.bottom()) + metrics.ascent() + 3
        painter.drawText(0, y, _clock(self.start))
        right = _clock(self.end)
        painter.drawText(self.width() - metrics.horizontalAdvance(right), y, right)


def _utc(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _clock(when: datetime) -> str:
    return when.astimezone().strftime("%H:%M:%S")
