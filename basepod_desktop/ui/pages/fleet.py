"""Fleet overview: every server, whether it answers, and its apps counted by state.

Offline servers keep showing their last snapshot (from fleet-cache.json), labelled
stale with the time it was taken, so "what was running on prod?" has an answer even
when prod does not.
"""

from __future__ import annotations

from datetime import datetime, timezone

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget,
)

from basepod_desktop.ui import theme
from basepod_desktop.ui.context import UiContext

_ORDER = ("running", "exited", "missing", "paused", "created", "stopped", "unknown")


def _ago(when: datetime) -> str:
    seconds = (datetime.now(timezone.utc) - when).total_seconds()
    if seconds < 90:
        return "just now"
    if seconds < 5400:
        return f"{int(seconds // 60)} min ago"
    if seconds < 172800:
        return f"{int(seconds // 3600)} h ago"
    return when.astimezone().strftime("%Y-%m-%d")


class ServerCard(QFrame):
    sig_clicked = Signal(str)

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.setObjectName("Card")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setMinimumHeight(130)
        col = QVBoxLayout(self)
        col.setContentsMargins(16, 14, 16, 14)
        col.setSpacing(6)
        top = QHBoxLayout()
        self.dot = QLabel()
        self.dot.setFixedSize(10, 10)
        top.addWidget(self.dot)
        self.title = QLabel()
        self.title.setObjectName("CardTitle")
        top.addWidget(self.title, 1)
        self.state = QLabel()
        self.state.setObjectName("Muted")
        top.addWidget(self.state)
        col.addLayout(top)
        self.target = QLabel()
        self.target.setObjectName("Muted")
        col.addWidget(self.target)
        col.addStretch()
        self.counts = QLabel()
        self.counts.setTextFormat(Qt.TextFormat.RichText)
        col.addWidget(self.counts)
        self.health = QLabel()
        self.health.setTextFormat(Qt.TextFormat.RichText)
        col.addWidget(self.health)
        self.stale = QLabel()
        self.stale.setObjectName("Muted")
        self.stale.setStyleSheet("font-size: 11px;")
        self.stale.setWordWrap(True)
        col.addWidget(self.stale)

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.sig_clicked.emit(self.name)


class FleetPage(QWidget):
    sig_server_requested = Signal(str)
    sig_add_server_requested = Signal()

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.cards: dict[str, ServerCard] = {}
        col = QVBoxLayout(self)
        col.setContentsMargins(24, 20, 24, 20)
        col.setSpacing(14)
        header = QHBoxLayout()
        titles = QVBoxLayout()
        title = QLabel("Fleet overview")
        title.setObjectName("PageTitle")
        titles.addWidget(title)
        self.summary = QLabel()
        self.summary.setObjectName("PageSubtitle")
        titles.addWidget(self.summary)
        header.addLayout(titles, 1)
        add = QPushButton("+ Add server")
        add.setProperty("role", "primary")
        add.clicked.connect(self.sig_add_server_requested.emit)
        header.addWidget(add, 0, Qt.AlignmentFlag.AlignTop)
        col.addLayout(header)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        holder = QWidget()
        holder.setObjectName("Content")
        self.grid = QGridLayout(holder)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(14)
        scroll.setWidget(holder)
        col.addWidget(scroll, 1)
        self.cta = self._build_cta()
        ctx.bridge.sig_status.connect(lambda name, _s: self._render_card(name))
        ctx.bridge.sig_apps.connect(self._render_card)

    def _build_cta(self) -> QFrame:
        card = QFrame()
        card.setObjectName("Card")
        card.setStyleSheet(f"#Card {{ border-style: dashed; border-color: {theme.colors().muted}; }}")
        col = QVBoxLayout(card)
        col.setContentsMargins(16, 14, 16, 14)
        title = QLabel("Add your first server")
        title.setObjectName("CardTitle")
        col.addWidget(title)
        text = QLabel("Basepod manages servers over SSH. Install the agent on a server "
                      "(basepod-agent init, then serve), then add it here with its host and SSH key.")
        text.setObjectName("Muted")
        text.setWordWrap(True)
        col.addWidget(text)
        col.addStretch()
        button = QPushButton("Add server…")
        button.clicked.connect(self.sig_add_server_requested.emit)
        col.addWidget(button, 0, Qt.AlignmentFlag.AlignLeft)
        return card

    def set_servers(self, names: list[str]) -> None:
        for card in self.cards.values():
            card.setParent(None)
            card.deleteLater()
        self.cards = {}
        self.cta.setParent(None)
        widgets: list[QWidget] = []
        for name in names:
            card = ServerCard(name)
            card.sig_clicked.connect(self.sig_server_requested.emit)
            self.cards[name] = card
            widgets.append(card)
            self._render_card(name)
        remote = [n for n in names if self.ctx.fleet.connections[n].profile.kind != "local"]
        if not remote:
            widgets.append(self.cta)
        for i, widget in enumerate(widgets):
            self.grid.addWidget(widget, i // 2, i % 2)
        self.grid.setRowStretch(len(widgets) // 2 + 1, 1)
        self._render_summary()

    def _render_card(self, name: str) -> None:
        card = self.cards.get(name)
        conn = self.ctx.fleet.connections.get(name)
        if card is None or conn is None:
            return
        status = conn.status
        snap = self.ctx.fleet.snapshot(name)
        card.title.setText(self.ctx.display_name(name))
        card.dot.setStyleSheet(f"background: {theme.connection_color(status.state.value).name()}; border-radius: 5px;")
        card.state.setText(status.label)
        card.setToolTip(status.reason or status.label)
        card.target.setText("Local agent · Podman on this machine" if conn.profile.kind == "local"
                            else f"SSH · {conn.profile.display_target}")
        counts = snap.counts()
        if counts:
            parts = [f"<span style='color:{theme.status_color(s).name()}'>●</span> {counts[s]} {s}"
                     for s in _ORDER if counts.get(s)]
            card.counts.setText("&nbsp;&nbsp;".join(parts))
        else:
            card.counts.setText("No apps" if snap.updated_at else "Not reached yet")
        health = snap.health_counts()
        words = (("green", "healthy"), ("yellow", "degraded"), ("red", "unhealthy"))
        card.health.setText("&nbsp;&nbsp;".join(
            f"<span style='color:{theme.health_color(s).name()}'>●</span> {health[s]} {w}" for s, w in words if health.get(s)))
        card.health.setToolTip("Health checks of the monitored apps")
        card.health.setVisible(bool(health))
        if not status.is_connected and snap.updated_at is not None:
            card.stale.setText(f"Stale: last seen {_ago(snap.updated_at)}")
        elif not status.is_connected and status.reason:
            card.stale.setText(status.reason)
        else:
            card.stale.setText("")
        card.stale.setVisible(bool(card.stale.text()))
        self._render_summary()

    def _render_summary(self) -> None:
        conns = self.ctx.fleet.connections
        up = sum(1 for c in conns.values() if c.status.is_connected)
        running = sum(self.ctx.fleet.snapshot(n).counts().get("running", 0) for n in conns)
        self.summary.setText(f"{up} of {len(conns)} servers connected · {running} apps running")
