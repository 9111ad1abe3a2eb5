"""The Metrics tab of the app page: CPU, memory against its limit, network and block I/O.

Four pyqtgraph plots share one time axis and one crosshair (the values under the mouse
are listed above the plots). The hour view grows with every ``MetricsTick`` for this
app; the day and week views are reloaded once a minute while the tab is visible.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from basepod_agent.protocol import AlertReport, AppMetrics, MetricsAlert, MetricsRange, MetricsTick
from basepod_desktop.core.metrics_feed import human_bytes, usage_level, with_gaps
from basepod_desktop.ui import theme
from basepod_desktop.ui.pages.dashboard_metrics import RANGES
from basepod_desktop.ui.tray import app_icon
from basepod_desktop.ui.widgets.live_tab import LiveTab
from basepod_desktop.ui.widgets.panels import EmptyState

RELOAD_MS = 60_000
MIB = 1024 * 1024
MIN_SPAN_SECONDS = 60


def _rate(value: float) -> str:
    return human_bytes(value) + "/s"


class MetricsTab(LiveTab):
    sig_loaded = Signal()

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.server: Optional[str] = None
        self.app: Optional[str] = None
        self.metrics: Optional[AppMetrics] = None
        self.alerts: Optional[AlertReport] = None
        self._loading = False
        self._again = False
        outer = QVBoxLayout(self)
        outer.setContentsMargins(20, 16, 20, 16)
        outer.setSpacing(10)
        head = QHBoxLayout()
        self.headline = QLabel("CPU and memory")
        self.headline.setObjectName("Stat")
        head.addWidget(self.headline)
        self.limits = QLabel()
        self.limits.setObjectName("Muted")
        self.limits.setWordWrap(True)
        head.addWidget(self.limits, 1)
        self.range_box = QComboBox(toolTip="Time span of the graphs")
        for label, value in RANGES:
            self.range_box.addItem(label, value)
        self.range_box.currentIndexChanged.connect(lambda _i: self.reload())
        head.addWidget(self.range_box)
        outer.addLayout(head)
        self.readout = QLabel(" ")
        self.readout.setObjectName("Muted")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        outer.addWidget(self.readout)
        self.alert_line = QLabel()
        self.alert_line.setObjectName("Muted")
        self.alert_line.setTextFormat(Qt.TextFormat.RichText)
        self.alert_line.setToolTip("Set with: bp alerts APP set --cpu 90 --memory 90 --for 5m")
        outer.addWidget(self.alert_line)
        self.stack = QStackedWidget()
        outer.addWidget(self.stack, 1)
        self.empty = EmptyState(app_icon(color=theme.colors().border), "No metrics yet",
                                "The agent samples CPU, memory, network and disk of running apps every "
                                "few seconds; the first points appear shortly after the app starts.")
        self.stack.addWidget(self.empty)
        self.plots_box = QWidget()
        self.stack.addWidget(self.plots_box)
        self._build_plots()
        self._timer = QTimer(self, interval=RELOAD_MS, timeout=lambda: self.reload(background=True))
        ctx.bridge.sig_event.connect(self._event)

    # --- plots -----------------------------------------------------------------------------

    def _build_plots(self) -> None:
        col = QVBoxLayout(self.plots_box)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(4)
        self.plots: dict[str, pg.PlotWidget] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.cursors: list[pg.InfiniteLine] = []
        p = theme.colors()
        specs = (("cpu", "CPU (%)", (("cpu", p.accent, "average"), ("cpu_max", p.accent, "max"))),
                 ("memory", "Memory (MiB)", (("memory", p.success, "used"), ("memory_limit", p.danger, "limit"))),
                 ("net", "Network (KiB/s)", (("net_rx", p.info, "received"), ("net_tx", p.warning, "sent"))),
                 ("block", "Disk (KiB/s)", (("block_read", p.info, "read"), ("block_write", p.warning, "written"))))
        first = None
        for key, title, curves in specs:
            plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=True, y=False)
            plot.hideButtons()
            plot.setMinimumHeight(110)
            plot.setBackground(p.surface)
            item = plot.getPlotItem()
            item.setLabel("left", title)
            item.getAxis("left").enableAutoSIPrefix(False)
            item.getAxis("left").setWidth(64)
            item.showGrid(x=False, y=True, alpha=0.15)
            legend = item.addLegend(offset=(-8, 4), colCount=2, labelTextColor=p.muted)
            legend.setBrush(pg.mkBrush(p.surface))
            for name in ("left", "bottom"):
                item.getAxis(name).setPen(pg.mkPen(p.border))
                item.getAxis(name).setTextPen(pg.mkPen(p.muted))
            for series, color, label in curves:
                style = Qt.PenStyle.DashLine if label in ("max", "limit") else Qt.PenStyle.SolidLine
                width = 1 if label == "max" else 2
                self.curves[series] = plot.plot([], [], pen=pg.mkPen(color, width=width, style=style),
                                                connect="finite", name=label)
            cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(p.muted, width=1))
            cursor.hide()
            plot.addItem(cursor, ignoreBounds=True)
            self.cursors.append(cursor)
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
            plot.scene().sigMouseMoved.connect(lambda pos, pl=plot: self._mouse_moved(pl, pos))
            self.plots[key] = plot
            col.addWidget(plot, 1)

    def _mouse_moved(self, plot: pg.PlotWidget, pos) -> None:
        if self.metrics is None or not plot.sceneBoundingRect().contains(pos):
            return
        x = plot.getPlotItem().vb.mapSceneToView(pos).x()
        self.show_values_at(x)

    def show_values_at(self, x: float) -> Optional[int]:
        """Move the crosshair to the point nearest ``x`` and list its values; returns its index."""
        s = self.metrics.series if self.metrics else None
        if not s or not s.t:
            return None
        i = min(range(len(s.t)), key=lambda k: abs(s.t[k] - x))
        for cursor in self.cursors:
            cursor.setPos(s.t[i])
            cursor.show()
        limit = s.memory_limit[i]
        mem = human_bytes(s.memory[i]) + (f" of {human_bytes(limit)}" if limit else "")
        self.readout.setText(
            f"<b>{datetime.fromtimestamp(s.t[i]):%Y-%m-%d %H:%M:%S}</b> · CPU {s.cpu[i]:.1f}% "
            f"(max {s.cpu_max[i]:.1f}%) · memory {mem} · net ↓{_rate(s.net_rx[i])} ↑{_rate(s.net_tx[i])} · "
            f"disk read {_rate(s.block_read[i])} write {_rate(s.block_write[i])}")
        return i

    # --- data ------------------------------------------------------------------------------

    @property
    def range(self) -> MetricsRange:
        return MetricsRange(self.range_box.currentData())

    def show_app(self, server: str, app: str) -> None:
        if (server, app) != (self.server, self.app):
            self.server, self.app, self.metrics = server, app, None
            self.stack.setCurrentWidget(self.empty)
        if self.isVisible():
            self.reload()

    def reload(self, background: bool = False) -> None:
        if self.server is None or self.ctx.fleet.is_stale(self.server):
            return
        if self._loading:
            self._again = True
            return
        self._loading = True
        server, app, range_ = self.server, self.app, self.range

        def landed() -> None:
            self._loading = False
            if self._again:
                self._again = False
                self.reload(background=True)

        def done(metrics: AppMetrics) -> None:
            if (server, app, range_) == (self.server, self.app, self.range):
                self.metrics = metrics
                self.render()
                self.sig_loaded.emit()
            landed()

        def failed(_exc) -> bool:
            landed()
            return background

        async def load():
            return await self.ctx.fleet.metrics(server, app, range_), await self.ctx.fleet.get_alerts(server, app)

        def both(result) -> None:
            metrics, self.alerts = result
            self._render_alerts()
            done(metrics)

        self.ctx.tasks.run(load(), what=f"Could not load the metrics of {app}", on_success=both, on_error=failed,
                           background=background)

    def _render_alerts(self) -> None:
        r = self.alerts
        if r is None:
            return
        c = r.config
        watched = [f"{name} above {value:g}%" for name, value in (("CPU", c.cpu_percent), ("memory", c.memory_percent))
                   if value is not None]
        text = (f"Alerts: {' or '.join(watched)} for {c.for_seconds} s" if c.enabled and watched
                else "Alerts: off") + (" (server defaults)" if r.inherited else "")
        danger = theme.colors().danger
        for a in r.active:
            text += (f" · <span style='color:{danger}'>{a.metric} over {a.threshold:g}% since "
                     f"{a.fired_at.astimezone():%H:%M}</span>")
        self.alert_line.setText(text)

    def _event(self, server: str, event) -> None:
        if isinstance(event, MetricsAlert) and (server, event.app) == (self.server, self.app) and self.isVisible():
            self.reload(background=True)
        if not isinstance(event, MetricsTick) or server != self.server or self.metrics is None:
            return
        sample = next((s for s in event.samples if s.app == self.app), None)
        if sample is None:
            return
        self.metrics.current = sample
        if self.range is MetricsRange.HOUR:
            s = self.metrics.series
            t = int(event.at.timestamp())
            if not s.t or t > s.t[-1]:
                for name, value in (("t", t), ("cpu", sample.cpu_percent), ("cpu_max", sample.cpu_percent),
                                    ("memory", float(sample.memory_bytes)), ("memory_max", sample.memory_bytes),
                                    ("memory_limit", sample.memory_limit_bytes), ("net_rx", sample.net_rx_bps),
                                    ("net_tx", sample.net_tx_bps), ("block_read", sample.block_read_bps),
                                    ("block_write", sample.block_write_bps), ("pids_max", sample.pids)):
                    getattr(s, name).append(value)
        if self.isVisible():
            self.render()

    def render(self) -> None:
        m = self.metrics
        if m is None:
            return
        s = m.series
        if not s.t:
            self.stack.setCurrentWidget(self.empty)
            self._headline(m)
            return
        self.stack.setCurrentWidget(self.plots_box)
        step = m.resolution_seconds
        for name in ("cpu", "cpu_max"):
            self.curves[name].setData(*with_gaps(s.t, getattr(s, name), step))
        for name in ("net_rx", "net_tx", "block_read", "block_write"):
            self.curves[name].setData(*with_gaps(s.t, [v / 1024 for v in getattr(s, name)], step))
        self.curves["memory"].setData(*with_gaps(s.t, [v / MIB for v in s.memory], step))
        limits = [v / MIB if v else None for v in s.memory_limit]
        self.curves["memory_limit"].setData(*with_gaps(s.t, limits, step))
        for key, names, floor in (("cpu", ("cpu_max",), 1.0), ("memory", ("memory_max", "memory_limit"), 1.0),
                                  ("net", ("net_rx", "net_tx"), 1.0), ("block", ("block_read", "block_write"), 1.0)):
            scale = MIB if key == "memory" else 1.0 if key == "cpu" else 1024.0
            top = max([floor] + [v / scale for name in names for v in getattr(s, name) if v])
            self.plots[key].setYRange(0, top * 1.15, padding=0)
        span = {MetricsRange.HOUR: 3600, MetricsRange.DAY: 86_400, MetricsRange.WEEK: 7 * 86_400}[m.range]
        end = max(s.t[-1], int(datetime.now().timestamp()))
        # A young app's few points fill the plot, but never less than a minute of it:
        # a span of seconds would label the time axis in fractions of a second.
        start = end - span if len(s.t) > 1 and s.t[0] < end - span / 2 else min(s.t[0], end - MIN_SPAN_SECONDS)
        self.plots["cpu"].setXRange(start, end, padding=0.01)
        self._headline(m)
        self.show_values_at(s.t[-1])

    def _headline(self, m: AppMetrics) -> None:
        c = m.current
        if c is None:
            self.headline.setText("Not running")
            self.limits.setText(f"averages over the last {m.range.value}" if m.series.t else "")
            return
        p = theme.colors()
        colour = {"danger": p.danger, "warning": p.warning}
        cpu_cap = m.cpu_limit
        mem_cap = c.memory_limit_bytes
        cpu_level = usage_level(c.cpu_percent, cpu_cap * 100 if cpu_cap else None)
        mem_level = usage_level(c.memory_bytes, mem_cap)
        self.headline.setText(f"CPU {c.cpu_percent:.1f}% · {human_bytes(c.memory_bytes)}")
        parts = [f"<span style='color:{colour.get(cpu_level, p.muted)}'>CPU limit {cpu_cap:g} cores "
                 f"({c.cpu_percent / cpu_cap:.0f}% used)</span>" if cpu_cap else "no CPU limit",
                 f"<span style='color:{colour.get(mem_level, p.muted)}'>memory limit {human_bytes(mem_cap)} "
                 f"({c.memory_bytes / mem_cap * 100:.0f}% used)</span>" if mem_cap else "no memory limit",
                 f"{c.pids} processes", f"avg CPU {m.stats.cpu.avg or 0:.1f}%, max {m.stats.cpu.max or 0:.1f}%"]
        self.limits.setTextFormat(Qt.TextFormat.RichText)
        self.limits.setText(" · ".join(parts))
