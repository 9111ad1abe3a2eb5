"""Tray icon: fleet health at a glance, and desktop notifications for bad news.

Notified: an app stopping on its own (``AppStateChanged.unexpected``) or turning red
in its health check (``HealthChanged``) on any connected server, a deploy finishing or
failing (``DeployChanged`` with a final status), and a server that was connected and stays unreachable for ``UNREACHABLE_GRACE_MS``
(a two-second blip that reconnects by itself is not worth a notification). Each notice
is mirrored into the in-window notification area, so nothing depends on a tray existing.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap, QPolygonF
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from basepod_agent.protocol import AppStateChanged, DeployChanged, DeployStatus, HealthChanged, HealthStatus
from basepod_agent.protocol import MetricsAlert
from basepod_desktop.core.connection import ConnectionStatus, ConnState
from basepod_desktop.core.limits import oom_killed_text
from basepod_desktop.ui import theme
from basepod_desktop.ui.context import UiContext

UNREACHABLE_GRACE_MS = 10_000


def app_icon(tint: QColor | None = None, size: int = 64, color: str = "#3563e9") -> QIcon:
    """The Basepod diamond, optionally with a status dot (tray) or in another colour."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(color))
    s = size
    painter.drawPolygon(QPolygonF([QPointF(s / 2, s * 0.06), QPointF(s * 0.94, s / 2),
                                   QPointF(s / 2, s * 0.94), QPointF(s * 0.06, s / 2)]))
    painter.setBrush(QColor("#ffffff"))
    painter.drawPolygon(QPolygonF([QPointF(s / 2, s * 0.3), QPointF(s * 0.7, s / 2),
                                   QPointF(s / 2, s * 0.7), QPointF(s * 0.3, s / 2)]))
    if tint is not None:
        painter.setBrush(QColor("#ffffff"))
        painter.drawEllipse(QPointF(s * 0.78, s * 0.78), s * 0.2, s * 0.2)
        painter.setBrush(tint)
        painter.drawEllipse(QPointF(s * 0.78, s * 0.78), s * 0.15, s * 0.15)
    painter.end()
    return QIcon(pixmap)


class Tray(QObject):
    sig_show_requested = Signal()
    sig_quit_requested = Signal()

    def __init__(self, ctx: UiContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.icon = QSystemTrayIcon(app_icon(), self)
        menu = QMenu()
        menu.addAction("Show Basepod", self.sig_show_requested.emit)
        menu.addSeparator()
        menu.addAction("Quit Basepod", self.sig_quit_requested.emit)
        self._menu = menu
        self.icon.setContextMenu(menu)
        self.icon.activated.connect(self._activated)
        self._was_connected: set[str] = set()
        self._pending: dict[str, QTimer] = {}
        ctx.bridge.sig_status.connect(self._status)
        ctx.bridge.sig_event.connect(self._event)
        ctx.bridge.sig_apps.connect(lambda _n: self.refresh())
        self.refresh()

    @property
    def available(self) -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def show(self) -> None:
        if self.available:
            self.icon.show()

    def refresh(self) -> None:
        """Tint: red if an app crashed or a server errs, amber while (re)connecting, else green."""
        conns = self.ctx.fleet.connections
        states = [c.status.state for c in conns.values()]
        crashed = sum(self.ctx.fleet.snapshot(n).counts().get("exited", 0) for n in conns)
        unhealthy = sum(self.ctx.fleet.snapshot(n).health_counts().get("red", 0) for n in conns)
        running = sum(self.ctx.fleet.snapshot(n).counts().get("running", 0) for n in conns)
        up = sum(1 for s in states if s is ConnState.CONNECTED)
        if crashed or unhealthy or ConnState.ERROR in states:
            key = "error"
        elif any(s in (ConnState.CONNECTING, ConnState.RECONNECTING) for s in states):
            key = "connecting"
        elif up == len(states) and states:
            key = "connected"
        else:
            key = "offline"
        self.icon.setIcon(app_icon(theme.connection_color(key)))
        crash_note = (f", {crashed} crashed" if crashed else "") + (f", {unhealthy} unhealthy" if unhealthy else "")
        self.icon.setToolTip(f"Basepod: {up}/{len(states)} servers connected, {running} apps running{crash_note}")

    def notify(self, title: str, text: str, level: str = "warning") -> None:
        self.ctx.notifier.notify(level, title, text)
        if self.available and self.icon.isVisible():
            icon = {"error": QSystemTrayIcon.MessageIcon.Critical, "success": QSystemTrayIcon.MessageIcon.Information,
                    "info": QSystemTrayIcon.MessageIcon.Information}.get(level, QSystemTrayIcon.MessageIcon.Warning)
            self.icon.showMessage(title, text, icon, 8000)

    def _status(self, name: str, status: ConnectionStatus) -> None:
        self.refresh()
        if status.is_connected:
            self._was_connected.add(name)
            timer = self._pending.pop(name, None)
            if timer is not None:
                timer.stop()
            return
        if name in self._was_connected and status.state in (ConnState.RECONNECTING, ConnState.OFFLINE, ConnState.ERROR):
            if name not in self._pending:
                timer = QTimer(self, singleShot=True, interval=UNREACHABLE_GRACE_MS)
                timer.timeout.connect(lambda n=name: self._unreachable(n))
                self._pending[name] = timer
                timer.start()

    def _unreachable(self, name: str) -> None:
        self._pending.pop(name, None)
        conn = self.ctx.fleet.connections.get(name)
        if conn is None or conn.status.is_connected:
            return
        self._was_connected.discard(name)  # one notice per outage
        self.notify(f"{self.ctx.display_name(name)} is unreachable", conn.status.reason or conn.status.label)

    def _event(self, name: str, event) -> None:
        if isinstance(event, AppStateChanged) and event.unexpected and self.ctx.settings.notify_unexpected_stops:
            code = f" with exit code {event.exit_code}" if event.exit_code is not None else ""
            if event.oom_killed:
                code = f": {oom_killed_text(self.ctx.fleet.snapshot(name).app(event.app), event.exit_code)}"
            self.notify(f"{event.app} stopped unexpectedly",
                        f"on {self.ctx.display_name(name)}{code}", level="error")
        elif isinstance(event, HealthChanged) and event.status is HealthStatus.RED \
                and event.previous is not HealthStatus.RED:
            self.notify(f"{event.app} is unhealthy", f"on {self.ctx.display_name(name)}: {event.reason}",
                        level="error")
        elif isinstance(event, DeployChanged) and event.status.finished:
            self._deploy_finished(name, event)
        elif isinstance(event, MetricsAlert):
            self._metrics_alert(name, event)

    def _metrics_alert(self, name: str, event: MetricsAlert) -> None:
        where = f"on {self.ctx.display_name(name)}: {event.message}"
        if event.state == "fired":
            self.notify(f"{event.app}: high {event.metric}", where, level="warning")
        else:
            self.notify(f"{event.app}: {event.metric} back to normal", where, level="success")

    def _deploy_finished(self, name: str, event: DeployChanged) -> None:
        where = f"on {self.ctx.display_name(name)} · deploy {event.id}"
        if event.status is DeployStatus.SUCCESS:
            self.notify(f"{event.app} deployed", f"{where}: the new build is live", level="success")
        elif event.status is DeployStatus.CANCELLED:
            self.notify(f"Deploy of {event.app} cancelled", where, level="info")
        else:
            self.notify(f"Deploy of {event.app} {event.status.value}",
                        f"{where}: see the build log in the Deploys tab", level="error")

    def _activated(self, reason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.sig_show_requested.emit()


def window_icon() -> QIcon:
    """The shipped icon files (source tree or PyInstaller bundle), else the drawn one."""
    import sys
    from pathlib import Path

    roots = [Path(getattr(sys, "_MEIPASS", "")) / "resources", Path(__file__).resolve().parents[2] / "resources"]
    for root in roots:
        files = [root / "icons" / name for name in ("basepod.svg", "basepod-256.png", "basepod-64.png")]
        if all(f.exists() for f in files[1:]):
            icon = QIcon()
            for f in files[1:]:
                icon.addFile(str(f))
            return icon
    return app_icon()
