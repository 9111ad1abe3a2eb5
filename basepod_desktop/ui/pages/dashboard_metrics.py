"""The dashboard's CPU and memory columns: range selector, one summary call, live ticks.

Kept out of ``dashboard.py`` so that page only says where the columns go. The summary
of every app is one agent call (on showing a server, changing the range, and once a
minute while visible); between calls the ``MetricsTick`` events keep the cells live.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QComboBox, QHeaderView, QLayout, QWidget

from basepod_agent.protocol import Hello, MetricsRange, MetricsSummary, MetricsTick
from basepod_desktop.ui.apps_model import COL_CPU, COL_MEMORY, AppsTableModel
from basepod_desktop.ui.context import UiContext
from basepod_desktop.ui.widgets.sparkline import UsageDelegate

REFRESH_MS = 60_000
RANGES = (("Last hour", MetricsRange.HOUR), ("Last 24 hours", MetricsRange.DAY), ("Last 7 days", MetricsRange.WEEK))


def insert_before(layout: QLayout, anchor: QWidget, widget: QWidget) -> bool:
    for i in range(layout.count()):
        item = layout.itemAt(i)
        if item.widget() is anchor:
            layout.insertWidget(i, widget)
            return True
        if item.layout() is not None and insert_before(item.layout(), anchor, widget):
            return True
    return False


class DashboardMetrics(QObject):
    def __init__(self, ctx: UiContext, page, model: AppsTableModel) -> None:
        super().__init__(page)
        self.ctx, self.page, self.model = ctx, page, model
        self.server: Optional[str] = None
        self._loading = False
        self._again = False  # asked again while a call was out: reload when it lands
        self.range_box = QComboBox(toolTip="Time span of the CPU and memory sparklines")
        for label, value in RANGES:
            self.range_box.addItem(label, value)
        self.range_box.currentIndexChanged.connect(lambda _i: self.reload())
        insert_before(page.layout(), page.filter, self.range_box)
        table = page.table
        delegate = UsageDelegate(table)
        head = table.horizontalHeader()
        for column in (COL_CPU, COL_MEMORY):
            table.setItemDelegateForColumn(column, delegate)
            head.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            head.resizeSection(column, delegate.sizeHint(None, None).width())
        self._timer = QTimer(self, interval=REFRESH_MS, timeout=lambda: self.reload(background=True))
        self._timer.start()
        ctx.bridge.sig_event.connect(self._event)

    @property
    def range(self) -> MetricsRange:
        return MetricsRange(self.range_box.currentData())

    def show_server(self, name: str) -> None:
        if name != self.server:
            self.server = name
            self.model.feed.clear()
            self.model.metrics_changed()
        self.reload()

    def reload(self, background: bool = False) -> None:
        server = self.server
        if server is None or self.ctx.fleet.is_stale(server) or background and not self.page.isVisible():
            return
        if self._loading:
            self._again = True
            return
        self._loading = True

        def landed() -> None:
            self._loading = False
            if self._again:
                self._again = False
                self.reload()

        def done(summary: MetricsSummary) -> None:
            if server == self.server and summary.range == self.range:
                self.model.feed.set_summary(summary)
                self.model.metrics_changed()
            landed()

        def failed(_exc) -> bool:
            landed()
            return True  # an agent without metrics, or a dropped link: the columns stay empty

        self.ctx.tasks.run(self.ctx.fleet.metrics_summary(server, self.range), what="Could not load metrics",
                           on_success=done, on_error=failed, background=True)

    def _event(self, server: str, event) -> None:
        if server != self.server:
            return
        if isinstance(event, MetricsTick):
            self.model.metrics_changed(self.model.feed.apply_tick(event))
        elif isinstance(event, Hello):
            self.reload(background=True)
