"""A tab that reloads when shown and ticks a timer only while visible.

Tabs that poll the agent must not keep polling from a hidden page.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget


class LiveTab(QWidget):
    """Subclasses set ``self._timer`` (a QTimer) and implement ``reload()``."""

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._timer.start()
        self.reload()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self._timer.stop()

    def reload(self, background: bool = False) -> None:
        raise NotImplementedError
