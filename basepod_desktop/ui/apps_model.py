"""Qt item model of one server's apps, and the proxy that sorts and filters it.

Sorting uses ``SORT_ROLE`` (numbers for uptime and ports, a severity order for status)
so "uptime" sorts by time, not by the text "3 h 2 min".
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt

from basepod_agent.protocol import AppInfo, AppStatus
from basepod_desktop.core.fleet import app_url
from basepod_desktop.core.limits import oom_text
from basepod_desktop.core.profiles import ServerProfile
from basepod_desktop.ui import theme
from basepod_desktop.ui.widgets.health import HEALTH_ROLE, RESTART_ROLE
from basepod_desktop.ui.widgets.status import STATUS_ROLE
from basepod_desktop.core.metrics_feed import MetricsFeed, Usage, cpu_usage, memory_usage
from basepod_desktop.ui.widgets.sparkline import USAGE_ROLE

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
APP_ROLE = Qt.ItemDataRole.UserRole + 2
COLUMNS = ("Name", "Status", "Health", "Image", "URL", "Uptime")
COL_NAME, COL_STATUS, COL_HEALTH, COL_IMAGE, COL_URL, COL_UPTIME = range(len(COLUMNS))
COLUMNS = COLUMNS + ("CPU", "Memory")
COL_CPU, COL_MEMORY = len(COLUMNS) - 2, len(COLUMNS) - 1
_HEALTH_ORDER = {"red": 0, "yellow": 1, "green": 2}
_STATUS_ORDER = {AppStatus.EXITED: 0, AppStatus.MISSING: 1, AppStatus.RUNNING: 2, AppStatus.PAUSED: 3,
                 AppStatus.CREATED: 4, AppStatus.STOPPED: 5, AppStatus.UNKNOWN: 6}


def uptime_seconds(app: AppInfo, now: Optional[datetime] = None) -> Optional[float]:
    if app.status is not AppStatus.RUNNING or app.started_at is None:
        return None
    started = app.started_at if app.started_at.tzinfo else app.started_at.replace(tzinfo=timezone.utc)
    return max(0.0, ((now or datetime.now(timezone.utc)) - started).total_seconds())


def format_duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} days"


class AppsTableModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._apps: list[AppInfo] = []
        self._profile: Optional[ServerProfile] = None
        self.stale = False
        self.feed = MetricsFeed()

    def set_apps(self, profile: Optional[ServerProfile], apps: list[AppInfo], stale: bool = False) -> None:
        """Replace the rows; a same-shaped update keeps the selection (no model reset)."""
        same_rows = [a.name for a in apps] == [a.name for a in self._apps] and profile == self._profile
        self._profile, self.stale = profile, stale
        if same_rows:
            self._apps = list(apps)
            if apps:
                self.dataChanged.emit(self.index(0, 0), self.index(len(apps) - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self._apps = list(apps)
        self.endResetModel()

    def app_at(self, row: int) -> Optional[AppInfo]:
        return self._apps[row] if 0 <= row < len(self._apps) else None

    def row_of(self, name: str) -> int:
        return next((i for i, a in enumerate(self._apps) if a.name == name), -1)

    def url_of(self, app: AppInfo) -> str:
        return app_url(self._profile, app) if self._profile else ""

    def tick(self) -> None:
        """Uptime moves on its own; repaint that column."""
        if self._apps:
            self.dataChanged.emit(self.index(0, COL_UPTIME), self.index(len(self._apps) - 1, COL_UPTIME))

    # --- QAbstractTableModel -----------------------------------------------------------

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._apps)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        app = self._apps[index.row()]
        col = index.column()
        if role == APP_ROLE:
            return app
        if col in (COL_CPU, COL_MEMORY):
            return self._usage_data(app, col, role)
        if role == STATUS_ROLE:
            return app.status.value
        if role == HEALTH_ROLE:
            return app.health.value if app.health else None
        if role == RESTART_ROLE:
            return app.restart_needed
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(app, col)
        if role == SORT_ROLE:
            if col == COL_STATUS:
                return _STATUS_ORDER.get(app.status, 9)
            if col == COL_UPTIME:
                return uptime_seconds(app) or -1.0
            if col == COL_HEALTH:
                return _HEALTH_ORDER.get(app.health.value if app.health else "", 3)
            return (self._display(app, col) or "").lower()
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_STATUS and app.oom_killed:
                return oom_text(app)
            if col == COL_STATUS and app.exit_code is not None:
                return f"exited with code {app.exit_code}"
            if col == COL_URL:
                return "Double-click the row for details; Ctrl+O opens the URL"
            if col == COL_HEALTH:
                note = " · env changed: apply to restart with the new values" if app.restart_needed else ""
                return theme.HEALTH_LABELS[app.health.value if app.health else None] + note
            return self._display(app, col)
        if role == Qt.ItemDataRole.FontRole and col == COL_NAME:
            from PySide6.QtGui import QFont
            font = QFont()
            font.setWeight(QFont.Weight.DemiBold)
            return font
        return None

    def usage(self, app: AppInfo, col: int) -> Usage:
        line = self.feed.lines.get(app.name)
        return cpu_usage(line, app) if col == COL_CPU else memory_usage(line, app)

    def _usage_data(self, app: AppInfo, col: int, role) -> Any:
        if role not in (USAGE_ROLE, SORT_ROLE, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.DisplayRole):
            return None
        usage = self.usage(app, col)
        if role == USAGE_ROLE:
            return usage
        if role == SORT_ROLE:
            return usage.current if usage.current is not None else -1.0
        if role == Qt.ItemDataRole.ToolTipRole:
            span = f"last {self.feed.range.value}"
            cap = "" if usage.limit else " · no limit set"
            return f"{COLUMNS[col]} {usage.text} now · {span}{cap}"
        return usage.text

    def metrics_changed(self, names: Optional[set[str]] = None) -> None:
        """Repaint the CPU and memory cells (of ``names``, or of every row)."""
        rows = [i for i, a in enumerate(self._apps) if names is None or a.name in names]
        if rows:
            self.dataChanged.emit(self.index(min(rows), COL_CPU), self.index(max(rows), COL_MEMORY))

    def _display(self, app: AppInfo, col: int) -> str:
        if col == COL_NAME:
            return app.name
        if col == COL_STATUS:
            return app.status.value
        if col == COL_IMAGE:
            return app.image
        if col == COL_URL:
            return self.url_of(app)
        if col == COL_HEALTH:
            return theme.HEALTH_LABELS[app.health.value if app.health else None]
        seconds = uptime_seconds(app)
        return format_duration(seconds) if seconds is not None else "—"


class AppsFilterProxy(QSortFilterProxyModel):
    """Case-insensitive match on name, image, status and URL."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)
