"""Status rendering shared by the table, the detail page and the sidebar.

One painter (``paint_pill``) draws the coloured pill everywhere, so "exited" looks the
same in the table as in the header, and the colours follow the theme.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from basepod_desktop.ui import theme

STATUS_ROLE = Qt.ItemDataRole.UserRole + 10  # the raw status string of a row


def paint_pill(painter: QPainter, rect: QRect, text: str, color: QColor, font: QFont) -> None:
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont(font)
    font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
    font.setWeight(QFont.Weight.DemiBold)
    metrics = QFontMetrics(font)
    height = metrics.height() + 6
    width = metrics.horizontalAdvance(text) + 30
    pill = QRectF(rect.x(), rect.center().y() - height / 2 + 1, width, height)
    fill = QColor(color)
    fill.setAlpha(40 if not theme.colors().dark else 60)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(fill)
    painter.drawRoundedRect(pill, height / 2, height / 2)
    painter.setBrush(color)
    dot = 7
    painter.drawEllipse(QRectF(pill.x() + 9, pill.center().y() - dot / 2, dot, dot))
    painter.setPen(color if not theme.colors().dark else color.lighter(115))
    painter.setFont(font)
    painter.drawText(pill.adjusted(21, 0, -8, 0), Qt.AlignmentFlag.AlignVCenter, text)
    painter.restore()


class StatusDelegate(QStyledItemDelegate):
    """Paints the status column as a pill instead of plain text."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        status = index.data(STATUS_ROLE) or ""
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        paint_pill(painter, option.rect.adjusted(8, 0, 0, 0), status, theme.status_color(status), option.font)

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width() + 40, max(size.height(), 36))


class StatusPill(QWidget):
    """A standalone pill (page headers); ``set_status`` picks text and colour."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._color = QColor(theme.colors().muted)
        self.setMinimumHeight(26)

    @property
    def text(self) -> str:
        return self._text

    def set_status(self, text: str, color: QColor) -> None:
        self._text, self._color = text, color
        metrics = QFontMetrics(self.font())
        self.setFixedWidth(metrics.horizontalAdvance(text) + 44)
        self.update()

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        paint_pill(painter, self.rect(), self._text, self._color, self.font())
