"""The deploy history as a Qt table (status icon and word, commit, who, when, how long),
and the one-line descriptions of a deploy and a source the Deploys tab shows.

Rows are ``DeployInfo`` as the agent sent them, newest first. Durations of deploys still
running are computed against the clock, so the tab ticks them once a second.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPen, QPixmap

from basepod_agent.protocol import DeployInfo, DeployStatus, GitSource, ImageSource, SourceInfo
from basepod_desktop.ui import theme

COL_STATUS, COL_COMMIT, COL_WHO, COL_WHEN, COL_DURATION = range(5)
HEADERS = ("Status", "Commit", "Triggered by", "Started", "Duration")
DEPLOY_ROLE = Qt.ItemDataRole.UserRole + 20

#: Deploy status -> palette colour key.
_COLOR_KEYS = {
    DeployStatus.QUEUED: "muted", DeployStatus.BUILDING: "info", DeployStatus.DEPLOYING: "info",
    DeployStatus.SUCCESS: "success", DeployStatus.FAILED: "danger", DeployStatus.CANCELLED: "muted",
    DeployStatus.INTERRUPTED: "warning",
}


def deploy_color(status: DeployStatus) -> QColor:
    return QColor(getattr(theme.colors(), _COLOR_KEYS.get(status, "muted")))


def status_icon(status: DeployStatus, size: int = 16) -> QIcon:
    """A filled disc with a mark for finished deploys; a ring while queued or running."""
    pixmap = QPixmap(size * 2, size * 2)  # drawn at 2x, so it stays crisp on HiDPI
    pixmap.setDevicePixelRatio(2.0)
    pixmap.fill(Qt.GlobalColor.transparent)
    color = deploy_color(status)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    box = QRectF(1.5, 1.5, size - 3, size - 3)
    if not status.finished:
        p.setPen(QPen(color, 2))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(box)
        if status is not DeployStatus.QUEUED:  # building/deploying: a half-filled ring
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(color)
            p.drawPie(box.adjusted(3, 3, -3, -3), 90 * 16, -180 * 16)
    else:
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(color)
        p.drawEllipse(box)
        pen = QPen(QColor("#ffffff"), 1.8, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
        p.setPen(pen)
        c, r = box.center(), size * 0.2
        if status is DeployStatus.SUCCESS:
            p.drawPolyline([QPointF(c.x() - r, c.y()), QPointF(c.x() - r * 0.25, c.y() + r * 0.8),
                            QPointF(c.x() + r * 1.1, c.y() - r * 0.8)])
        elif status is DeployStatus.FAILED:
            p.drawLine(QPointF(c.x() - r, c.y() - r), QPointF(c.x() + r, c.y() + r))
            p.drawLine(QPointF(c.x() - r, c.y() + r), QPointF(c.x() + r, c.y() - r))
        elif status is DeployStatus.CANCELLED:
            p.drawLine(QPointF(c.x() - r, c.y()), QPointF(c.x() + r, c.y()))
        else:  # interrupted
            p.drawLine(QPointF(c.x(), c.y() - r), QPointF(c.x(), c.y() + r * 0.3))
            p.drawPoint(QPointF(c.x(), c.y() + r * 0.95))
    p.end()
    return QIcon(pixmap)


def deploy_duration(deploy: DeployInfo, now: Optional[datetime] = None) -> Optional[float]:
    if deploy.started_at is None:
        return None
    end = deploy.finished_at or (now or datetime.now(timezone.utc))
    return max(0.0, (end - deploy.started_at).total_seconds())


def format_seconds(seconds: float) -> str:
    """Build times: seconds matter ("1 min 12 s"), days do not happen."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def describe_commit(deploy: DeployInfo) -> str:
    if deploy.source_type == "image":
        return f"image {deploy.source_image or deploy.image_tag or ''}".strip()
    if deploy.source_type == "rollback":
        return f"rollback to {deploy.rollback_to}"
    message = (deploy.commit_message or "").splitlines()[0] if deploy.commit_message else ""
    if deploy.commit:
        return f"{deploy.commit[:7]}  {message}".rstrip()
    if deploy.source_type == "upload":
        return f"upload  {message}".rstrip()
    return "branch head (resolving…)" if not deploy.status.finished else "commit unknown (see the log)"



def esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def describe_source(info: Optional[SourceInfo]) -> str:
    source = info.source if info is not None else None
    if isinstance(source, GitSource):
        sub = f" · folder <b>{esc(source.subdir)}</b>" if source.subdir else ""
        return f"Git <b>{esc(source.url)}</b> · branch <b>{esc(source.branch)}</b>{sub}"
    if isinstance(source, ImageSource):
        return f"Image <b>{esc(source.image)}</b>"
    return "No source yet: choose a repository or an image to deploy from."


def _when(value: Optional[datetime]) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "—"


class DeploysModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.deploys: list[DeployInfo] = []
        self._icons: dict[DeployStatus, QIcon] = {}

    def set_deploys(self, deploys: list[DeployInfo]) -> None:
        self.beginResetModel()
        self.deploys = list(deploys)
        self._icons.clear()  # the theme may have changed
        self.endResetModel()

    def row_of(self, deploy_id: str) -> Optional[int]:
        return next((i for i, d in enumerate(self.deploys) if d.id == deploy_id), None)

    def deploy(self, row: int) -> Optional[DeployInfo]:
        return self.deploys[row] if 0 <= row < len(self.deploys) else None

    def any_running(self) -> bool:
        return any(not d.status.finished for d in self.deploys)

    def tick(self) -> None:
        """Repaint the duration of running deploys."""
        if self.deploys:
            self.dataChanged.emit(self.index(0, COL_DURATION), self.index(len(self.deploys) - 1, COL_DURATION))

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.deploys)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        deploy = self.deploy(index.row()) if index.isValid() else None
        if deploy is None:
            return None
        col = index.column()
        if role == DEPLOY_ROLE:
            return deploy
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_STATUS:
                return deploy.status.value
            if col == COL_COMMIT:
                return describe_commit(deploy)
            if col == COL_WHO:
                return deploy.triggered_by
            if col == COL_WHEN:
                return _when(deploy.started_at or deploy.created_at)
            if col == COL_DURATION:
                seconds = deploy_duration(deploy)
                return "—" if seconds is None else format_seconds(seconds)
        if role == Qt.ItemDataRole.DecorationRole and col == COL_STATUS:
            if deploy.status not in self._icons:
                self._icons[deploy.status] = status_icon(deploy.status)
            return self._icons[deploy.status]
        if role == Qt.ItemDataRole.ForegroundRole and col == COL_STATUS:
            return deploy_color(deploy.status)
        if role == Qt.ItemDataRole.FontRole and col == COL_STATUS:
            font = QFont()
            font.setWeight(QFont.Weight.DemiBold)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_COMMIT and deploy.commit:
                return f"{deploy.commit}\n{deploy.commit_message or ''}".strip()
            if col == COL_STATUS and deploy.error:
                return deploy.error
        return None
