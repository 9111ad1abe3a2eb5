"""What every page needs, handed over explicitly (no global app object to reach into).

``FleetBridge`` turns the Qt-free fleet's callbacks into Qt signals; qasync runs asyncio
on the Qt thread, so the callbacks can emit directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from basepod_desktop.core.connection import ConnectionStatus
from basepod_desktop.core.fleet import Fleet
from basepod_desktop.core.profiles import ProfileStore, ServerProfile
from basepod_desktop.core.settings import DesktopSettings, SettingsStore
from basepod_desktop.ui.notifications import Notifier
from basepod_desktop.ui.tasks import TaskRunner


class FleetBridge(QObject):
    sig_status = Signal(str, object)  # server name, ConnectionStatus
    sig_apps = Signal(str)  # server name: its snapshot changed
    sig_event = Signal(str, object)  # server name, protocol Event
    sig_servers_changed = Signal()  # a server was added, edited or removed

    def __init__(self, fleet: Fleet, parent: QObject | None = None) -> None:
        super().__init__(parent)
        fleet.status_listeners.append(self._status)
        fleet.apps_listeners.append(self.sig_apps.emit)
        fleet.event_listeners.append(self.sig_event.emit)

    def _status(self, name: str, status: ConnectionStatus) -> None:
        self.sig_status.emit(name, status)


@dataclass
class UiContext:
    fleet: Fleet
    bridge: FleetBridge
    profiles: ProfileStore
    settings_store: SettingsStore
    settings: DesktopSettings
    notifier: Notifier
    tasks: TaskRunner

    def profile(self, name: str) -> ServerProfile:
        return self.fleet.connection(name).profile

    def display_name(self, name: str) -> str:
        conn = self.fleet.connections.get(name)
        if conn is not None and conn.profile.kind == "local":
            return "This computer"
        return name

    def save_settings(self) -> None:
        self.settings_store.save(self.settings)
