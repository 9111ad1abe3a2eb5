"""A tab that reloads when shown and ticks a timer only while visible.

Tabs that poll the agent must not keep polling from a hidden page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtWidgets import QWidget


class LiveTab(QWidget):
    """Subclasses set ``self._timer`` (a QTimer) and implement ``reload()``; those using
    ``load_shown`` also have ``ctx``, ``server``, ``app`` and a ``sig_loaded`` signal."""

    _loading = False

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._timer.start()
        self.reload()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self._timer.stop()

    def reload(self, background: bool = False) -> None:
        raise NotImplementedError

    def load_shown(self, load: Callable[[str, str], Awaitable[Any]], what: str,
                   apply: Callable[[Any], None], background: bool = False) -> None:
        """One load for the app on show: skipped while one runs or the server is offline,
        and its answer dropped if the tab moved to another app meanwhile."""
        if self.server is None or self._loading or self.ctx.fleet.is_stale(self.server):
            return
        self._loading = True
        server, app = self.server, self.app

        def done(result) -> None:
            self._loading = False
            if (server, app) == (self.server, self.app):
                apply(result)
                self.sig_loaded.emit()

        def failed(_exc) -> bool:
            self._loading = False
            return background  # a failed background refresh shows as the connection state

        self.ctx.tasks.run(load(server, app), what=f"{what} {app}", on_success=done, on_error=failed,
                           background=background)
