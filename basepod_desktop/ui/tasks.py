"""The one way the UI runs a coroutine: busy state on, result or error handled, busy off.

Every async slot goes through ``TaskRunner.run`` so no exception can vanish inside a
fire-and-forget task: it reaches ``on_error`` (a dialog showing it inline) or the
notification area. Cancellation (a page closed, the app quitting) is not an error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Optional

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QWidget

from basepod_desktop.client import ClientError
from basepod_desktop.core.profiles import ProfileError
from basepod_desktop.transport import TransportError
from basepod_desktop.ui.notifications import Notifier

log = logging.getLogger(__name__)

#: on_error returns True when it showed the error itself (e.g. inline in a form).
ErrorHandler = Callable[[BaseException], bool]


def error_text(exc: BaseException) -> str:
    if isinstance(exc, (ClientError, TransportError)):
        return exc.message
    if isinstance(exc, ProfileError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class TaskRunner(QObject):
    sig_busy_changed = Signal(bool)

    def __init__(self, notifier: Notifier, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.notifier = notifier
        self._running: set[asyncio.Task] = set()
        self._all: set[asyncio.Task] = set()

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def run(
        self,
        coro: Awaitable[Any],
        *,
        what: str = "Something went wrong",
        busy_widget: Optional[QWidget] = None,
        on_success: Optional[Callable[[Any], None]] = None,
        on_error: Optional[ErrorHandler] = None,
        background: bool = False,
    ) -> asyncio.Task:
        """Schedule ``coro``; ``what`` titles the error banner ("Could not stop web").

        ``background`` work (a periodic refresh) does not switch the busy bar on: a bar
        blinking every few seconds would say "working" when nothing was asked for.
        """
        if busy_widget is not None:
            _set_busy(busy_widget, +1)
        task = asyncio.ensure_future(coro)
        self._all.add(task)
        if not background:
            self._running.add(task)
            if len(self._running) == 1:
                self.sig_busy_changed.emit(True)

        def done(t: asyncio.Task) -> None:
            self._all.discard(t)
            if t in self._running:
                self._running.discard(t)
                if not self._running:
                    self.sig_busy_changed.emit(False)
            if busy_widget is not None:
                _set_busy(busy_widget, -1)
            if t.cancelled():
                return
            exc = t.exception()
            try:
                if exc is None:
                    if on_success is not None:
                        on_success(t.result())
                    return
                if on_error is not None and on_error(exc):
                    return
            except Exception as handler_exc:  # a broken handler is still an error to show
                log.exception("task callback failed")
                exc = handler_exc
            if not isinstance(exc, (ClientError, TransportError, ProfileError)):
                log.error("%s", what, exc_info=exc)
            self.notifier.error(what, error_text(exc))

        task.add_done_callback(done)
        return task

    async def cancel_all(self) -> None:
        tasks = list(self._all)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _set_busy(widget: QWidget, delta: int) -> None:
    """Disable while busy; nested tasks on one widget are counted, not toggled."""
    try:
        count = (widget.property("_busy") or 0) + delta
        widget.setProperty("_busy", count)
        widget.setEnabled(count <= 0)
        if count > 0:
            widget.setCursor(Qt.CursorShape.BusyCursor)
        else:
            widget.unsetCursor()
    except RuntimeError:  # the widget was deleted while the task ran
        pass
