"""The Health tab of the app page: verdict, configuration summary and the timeline.

It reloads when the agent pushes a ``HealthChanged`` for this app and, while visible,
every few seconds in the background (probe latencies are not pushed one by one).
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QStackedWidget, QVBoxLayout, QWidget,
)

from basepod_agent.protocol import HealthChanged, HealthHistory, HealthReport
from basepod_desktop.ui import theme
from basepod_desktop.ui.widgets.live_tab import LiveTab
from basepod_desktop.ui.context import UiContext
from basepod_desktop.ui.dialogs.health_config import HealthConfigDialog
from basepod_desktop.ui.tray import app_icon
from basepod_desktop.ui.widgets.health import HealthDot
from basepod_desktop.ui.widgets.health_timeline import HealthTimeline
from basepod_desktop.ui.widgets.panels import EmptyState

POLL_MS = 3000
_WORDS = {"green": "Healthy", "yellow": "Degraded", "red": "Unhealthy"}


def describe(report: HealthReport) -> str:
    c = report.config
    return (f"GET {c.path} every {c.interval_seconds:g} s · timeout {c.timeout_seconds:g} s · "
            f"unhealthy after {c.failure_threshold} failure{'s' if c.failure_threshold > 1 else ''} · "
            f"expects {c.expected_status_min}–{c.expected_status_max} · "
            f"auto-restart {'on' if c.auto_restart else 'off'} · grace {c.grace_seconds:g} s")


class HealthTab(LiveTab):
    sig_loaded = Signal()

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.server: Optional[str] = None
        self.app: Optional[str] = None
        self.report: Optional[HealthReport] = None
        self.history: Optional[HealthHistory] = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget()
        outer.addWidget(self.stack)
        self.empty = EmptyState(app_icon(color=theme.colors().border), "No health check yet",
                                "Add one to let Basepod notice when this app stops answering, and restart "
                                "it for you.", "Add a health check…")
        self.empty.sig_action.connect(self.configure)
        self.stack.addWidget(self.empty)
        self.loading = QLabel("Loading the health check…")
        self.loading.setObjectName("Muted")
        self.loading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.loading)
        self.content = QWidget()
        col = QVBoxLayout(self.content)
        col.setContentsMargins(20, 16, 20, 16)
        col.setSpacing(10)
        head = QHBoxLayout()
        head.setSpacing(8)
        self.dot = HealthDot(14)
        head.addWidget(self.dot)
        self.verdict = QLabel()
        self.verdict.setObjectName("Stat")
        head.addWidget(self.verdict)
        self.reason = QLabel()
        self.reason.setObjectName("Muted")
        head.addWidget(self.reason, 1)
        self.configure_button = QPushButton("Configure…")
        self.configure_button.clicked.connect(self.configure)
        head.addWidget(self.configure_button)
        col.addLayout(head)
        self.summary = QLabel()
        self.summary.setObjectName("Muted")
        self.summary.setWordWrap(True)
        col.addWidget(self.summary)
        self.counters = QLabel()
        col.addWidget(self.counters)
        self.timeline = HealthTimeline()
        col.addWidget(self.timeline, 1)
        scroll = QScrollArea()  # a short window scrolls instead of squeezing the plot
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setStyleSheet("QScrollArea { background: transparent; }")
        self.content.setMinimumHeight(470)
        scroll.setWidget(self.content)
        self.scroll = scroll
        self.stack.addWidget(scroll)
        self._timer = QTimer(self, interval=POLL_MS, timeout=self._poll)
        ctx.bridge.sig_event.connect(self._event)

    def show_app(self, server: str, app: str) -> None:
        if (server, app) != (self.server, self.app):
            self.server, self.app = server, app
            self.report = self.history = None
            self.stack.setCurrentWidget(self.loading)
        if self.isVisible():
            self.reload()

    def _poll(self) -> None:
        if self.report is not None and self.report.monitored:
            self.reload(background=True)

    def _event(self, server: str, event) -> None:
        if isinstance(event, HealthChanged) and (server, event.app) == (self.server, self.app) and self.isVisible():
            self.reload(background=True)

    def reload(self, background: bool = False) -> None:
        async def load(server: str, app: str):
            return (await self.ctx.fleet.get_health(server, app),
                    await self.ctx.fleet.health_history(server, app))

        def apply(result) -> None:
            self.report, self.history = result
            self.render()

        self.load_shown(load, "Could not load the health of", apply, background)

    def render(self) -> None:
        report = self.report
        if report is None:
            return
        if not report.monitored and not report.recent and not report.transitions and not report.config.enabled:
            self.stack.setCurrentWidget(self.empty)
            return
        self.stack.setCurrentWidget(self.scroll)
        status = report.status.value if report.status else None
        self.dot.set_status(status)
        self.verdict.setText(_WORDS.get(status, "Checks are off" if not report.config.enabled else "Waiting"))
        self.reason.setText(report.reason or "")
        self.summary.setText(describe(report) if report.config.enabled else
                             "Health checks are switched off for this app; Configure to turn them on.")
        gave_up = (f" · <span style='color:{theme.colors().danger}'>auto-restart gave up (crash loop)</span>"
                   if report.gave_up else "")
        self.counters.setText(f"{report.consecutive_failures} consecutive failures · "
                              f"{report.recent_restarts} restarts recently{gave_up}")
        if self.history is not None:
            self.timeline.set_history(self.history)

    def configure(self) -> Optional[HealthConfigDialog]:
        if self.server is None or self.app is None or self.ctx.fleet.is_stale(self.server):
            return None
        config = self.report.config if self.report is not None and self._configured() else None
        dialog = HealthConfigDialog(self.ctx, self.server, self.app, config, self)
        dialog.sig_saved.connect(lambda _r: self.reload())
        dialog.open()
        return dialog

    def _configured(self) -> bool:
        return self.stack.currentWidget() is self.scroll
