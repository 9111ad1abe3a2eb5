"""Write a snapshot of log lines to a file on a worker thread.

Formatting and writing 10,000 lines takes tens of milliseconds and a slow disk (network
home directory) can take much longer; the UI thread only takes the snapshot (a list copy)
and is told the outcome through a queued signal.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from basepod_agent.protocol import LogLine

from basepod_desktop.core.logbuffer import format_line

__all__ = ["LogSaver"]


class LogSaver(QObject):
    sig_finished = Signal(str, int, str)  # path, lines written, error message ("" = success)

    def save(self, lines: list[LogLine], path: str | Path, timestamps: bool) -> threading.Thread:
        """Start writing ``lines`` (already a private copy) to ``path``; return the thread."""
        thread = threading.Thread(target=self._write, args=(lines, str(path), timestamps),
                                  name="basepod-log-save", daemon=True)
        thread.start()
        return thread

    def _write(self, lines: list[LogLine], path: str, timestamps: bool) -> None:
        try:
            with open(path, "w", encoding="utf-8") as handle:
                for start in range(0, len(lines), 2000):
                    chunk = lines[start:start + 2000]
                    handle.write("".join(format_line(line, timestamps) + "\n" for line in chunk))
        except OSError as exc:
            self.sig_finished.emit(path, 0, exc.strerror or str(exc))
        else:
            self.sig_finished.emit(path, len(lines), "")
