"""The health timeline of one app: a coloured band, a latency plot and the events list.

pyqtgraph draws the latency (fast, zoomable, date axis); the band is painted by
``HealthBand``. All three share one time window: from the oldest probe shown to now.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from basepod_agent.protocol import HealthHistory
from basepod_desktop.ui import theme
from basepod_desktop.ui.widgets.health import HealthBand

_WORDS = {"green": "Healthy", "yellow": "Degraded", "red": "Unhealthy", None: "Not checked"}


class HealthTimeline(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(6)
        col.addWidget(_section("Status over time"))
        self.band = HealthBand()
        col.addWidget(self.band)
        col.addSpacing(4)
        col.addWidget(_section("Probe latency"))
        self.plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
        self.plot.setMinimumHeight(170)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.hideButtons()
        self.plot.getPlotItem().setLabel("left", "ms")
        self.ok_curve = self.plot.plot([], [])
        self.fail_points = pg.ScatterPlotItem(size=8)
        self.plot.addItem(self.fail_points)
        col.addWidget(self.plot, 2)
        col.addSpacing(4)
        col.addWidget(_section("Events"))
        self.events = QListWidget()
        self.events.setObjectName("Events")
        self.events.setMinimumHeight(110)
        col.addWidget(self.events, 1)
        self.probe_count = 0
        self.restyle()

    def restyle(self) -> None:
        p = theme.colors()
        self.plot.setBackground(p.surface)
        for name in ("left", "bottom"):
            axis = self.plot.getPlotItem().getAxis(name)
            axis.setPen(pg.mkPen(p.border))
            axis.setTextPen(pg.mkPen(p.muted))
        self.plot.getPlotItem().showGrid(x=False, y=True, alpha=0.15)
        self.ok_curve.setPen(pg.mkPen(p.accent, width=2))
        self.ok_curve.setSymbol("o")
        self.ok_curve.setSymbolSize(5)
        self.ok_curve.setSymbolBrush(pg.mkBrush(p.accent))
        self.ok_curve.setSymbolPen(None)
        self.fail_points.setBrush(pg.mkBrush(p.danger))
        self.fail_points.setPen(None)

    def set_history(self, history: HealthHistory) -> None:
        now = datetime.now(timezone.utc)
        probes = sorted(history.probes, key=lambda p: p.at)
        start = _utc(probes[0].at) if probes else now - timedelta(minutes=5)
        start = min(start, now - timedelta(seconds=5))
        self.band.set_data(history.transitions, start, now)
        ok_x = [_utc(p.at).timestamp() for p in probes if p.ok and p.latency_ms is not None]
        ok_y = [p.latency_ms for p in probes if p.ok and p.latency_ms is not None]
        self.ok_curve.setData(ok_x, ok_y)
        failed = [p for p in probes if not p.ok]
        top = max(ok_y, default=1.0)
        self.fail_points.setData([_utc(p.at).timestamp() for p in failed],
                                 [p.latency_ms if p.latency_ms is not None else top for p in failed])
        self.plot.setXRange(start.timestamp(), now.timestamp(), padding=0.02)
        self.probe_count = len(probes)
        self.events.clear()
        for t in sorted(history.transitions, key=lambda t: t.at, reverse=True):
            status = t.status.value if t.status else None
            word = _WORDS.get(status, str(status))
            item = QListWidgetItem(f"●  {_utc(t.at).astimezone():%H:%M:%S}   {word} — {t.reason}")
            item.setForeground(theme.health_color(status))
            item.setToolTip(f"{_utc(t.at).astimezone():%Y-%m-%d %H:%M:%S}: {t.reason}")
            self.events.addItem(item)
        if not history.transitions:
            item = QListWidgetItem("No status changes yet: they appear here as probes come in.")
            item.setForeground(Qt.GlobalColor.gray)
            self.events.addItem(item)


def _section(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("SectionLabel")
    return label


def _utc(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
