"""Dashboard cells for CPU and memory: a sparkline, the current value, and a usage bar.

One delegate paints every row with a QPainterPath (a pyqtgraph widget per row would
cost a widget, a scene and a timer each). The bar compares usage with the app's limit
and turns amber from 80 %, red from 95 %; without a limit there is no bar.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

from basepod_desktop.core.metrics_feed import Usage
from basepod_desktop.ui import theme
from basepod_desktop.ui.widgets.health import paint_cell_background

USAGE_ROLE = Qt.ItemDataRole.UserRole + 21  # a core.metrics_feed.Usage
LINE_WIDTH = 56
TEXT_WIDTH = 104


def level_color(level: str | None) -> QColor:
    p = theme.colors()
    return QColor({"danger": p.danger, "warning": p.warning}.get(level or "", p.accent))


def paint_sparkline(painter: QPainter, box: QRectF, values: list[float], color: QColor, top: float | None) -> None:
    """The line scaled into ``box``; ``top`` fixes the scale (the limit) so a full cap reads as full."""
    if not values:
        return
    if len(values) == 1:  # a fresh app: one bucket so far, drawn as a level line
        values = values * 2
    peak = max(top or 0.0, max(values), 1e-9)
    step = box.width() / (len(values) - 1)
    path = QPainterPath()
    for i, value in enumerate(values):
        point = QPointF(box.left() + i * step, box.bottom() - min(value, peak) / peak * box.height())
        path.moveTo(point) if i == 0 else path.lineTo(point)
    area = QPainterPath(path)
    area.lineTo(box.right(), box.bottom())
    area.lineTo(box.left(), box.bottom())
    fill = QColor(color)
    fill.setAlpha(40)
    painter.fillPath(area, fill)
    painter.setPen(QPen(color, 1.4))
    painter.drawPath(path)


def paint_bar(painter: QPainter, box: QRectF, ratio: float, color: QColor) -> None:
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(theme.colors().border))
    painter.drawRoundedRect(box, 2, 2)
    painter.setBrush(color)
    painter.drawRoundedRect(QRectF(box.left(), box.top(), box.width() * max(0.0, min(ratio, 1.0)), box.height()),
                            2, 2)


class UsageDelegate(QStyledItemDelegate):
    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        paint_cell_background(self, painter, option, index)
        usage: Usage | None = index.data(USAGE_ROLE)
        if usage is None:
            return
        rect = QRectF(option.rect).adjusted(8, 6, -8, -6)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        color = level_color(usage.level)
        line_box = QRectF(rect.left(), rect.top() + 2, LINE_WIDTH, rect.height() - 4)
        paint_sparkline(painter, line_box, usage.values, color, usage.scale)
        text_box = QRectF(line_box.right() + 10, rect.top(), rect.right() - line_box.right() - 10, rect.height())
        painter.setPen(QColor(theme.colors().text if usage.current is not None else theme.colors().muted))
        has_bar = usage.limit is not None and usage.current is not None
        text_rect = text_box.adjusted(0, 0, 0, -7) if has_bar else text_box
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, usage.text)
        if has_bar:
            bar = QRectF(text_box.left(), text_box.bottom() - 6, min(text_box.width(), TEXT_WIDTH), 4)
            paint_bar(painter, bar, usage.current / usage.limit, color)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        return QSize(LINE_WIDTH + TEXT_WIDTH + 28, 40)
