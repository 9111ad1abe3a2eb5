"""Health-check settings of one app: what to probe, how often, and what to do about it.

The form builds a ``HealthConfig`` locally first (the protocol's own bounds and
cross-field rules), so most mistakes show under their field before anything is sent;
what only the agent knows (its minimum interval) comes back as ApiError.field.
"""

from __future__ import annotations

from typing import Optional

from pydantic import ValidationError
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox, QDialog, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
    QSpinBox, QVBoxLayout, QWidget,
)

from basepod_agent.protocol import HealthConfig, HealthReport
from basepod_desktop.client import ApiError
from basepod_desktop.ui.context import UiContext
from basepod_desktop.ui.widgets.forms import FieldErrors, accept_buttons

_WORDS = {"timeout_seconds": "the timeout", "interval_seconds": "the interval",
          "expected_status_min": "the lowest expected status", "expected_status_max": "the highest"}
_FIELD_OF = {"path": "path", "interval_seconds": "interval", "timeout_seconds": "timeout",
             "failure_threshold": "threshold", "expected_status_min": "status", "expected_status_max": "status",
             "grace_seconds": "grace"}


def _seconds(value: float, minimum: float = 0.1, maximum: float = 3600) -> QDoubleSpinBox:
    box = QDoubleSpinBox(minimum=minimum, maximum=maximum, decimals=1, value=value, suffix=" s")
    box.setSingleStep(1.0)
    return box


class HealthConfigDialog(QDialog):
    sig_saved = Signal(object)  # HealthReport

    def __init__(self, ctx: UiContext, server: str, app: str, config: Optional[HealthConfig] = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.server, self.app = ctx, server, app
        self.setObjectName("HealthConfigDialog")
        self.setWindowTitle(f"Health check of {app}")
        self.setMinimumWidth(500)
        new = config is None
        config = config or HealthConfig()
        col = QVBoxLayout(self)
        col.setContentsMargins(20, 18, 20, 16)
        col.setSpacing(6)
        heading = QLabel("Add a health check" if new else "Health check")
        heading.setObjectName("CardTitle")
        col.addWidget(heading)
        hint = QLabel(f"The agent sends GET requests to {app} inside the server and marks it unhealthy "
                      "after repeated failures; with auto-restart on, it restarts the app.")
        hint.setObjectName("Muted")
        hint.setWordWrap(True)
        col.addWidget(hint)
        col.addSpacing(6)
        form = QFormLayout()
        form.setVerticalSpacing(6)
        form.setHorizontalSpacing(16)
        self.enabled = QCheckBox("Check this app's health", checked=config.enabled)
        self.path = QLineEdit(config.path, placeholderText="/health")
        self.interval = _seconds(config.interval_seconds)
        self.timeout = _seconds(config.timeout_seconds, maximum=120)
        self.threshold = QSpinBox(minimum=1, maximum=100, value=config.failure_threshold, suffix=" failures")
        self.status_min = QSpinBox(minimum=100, maximum=599, value=config.expected_status_min)
        self.status_max = QSpinBox(minimum=100, maximum=599, value=config.expected_status_max)
        status_row = QWidget()
        srow = QHBoxLayout(status_row)
        srow.setContentsMargins(0, 0, 0, 0)
        srow.addWidget(self.status_min)
        srow.addWidget(QLabel("to"))
        srow.addWidget(self.status_max)
        srow.addStretch()
        self.grace = _seconds(config.grace_seconds, minimum=0)
        self.auto_restart = QCheckBox("Restart the app when it becomes unhealthy", checked=config.auto_restart)
        self._base = config
        self.field_errors = FieldErrors()
        self.errors = self.field_errors.labels
        self._widgets: dict[str, QWidget] = {"path": self.path, "interval": self.interval, "timeout": self.timeout,
                                             "threshold": self.threshold, "status": status_row, "grace": self.grace}
        form.addRow("", self.enabled)
        for key, label, widget, tip in (
                ("path", "Path", self.path, "Requested on the app's container port"),
                ("interval", "Every", self.interval, "Time between two probes"),
                ("timeout", "Timeout", self.timeout, "A probe slower than this counts as a failure"),
                ("threshold", "Unhealthy after", self.threshold, "Consecutive failures before the app is red"),
                ("status", "Expected status", status_row, "HTTP status codes that count as healthy"),
                ("grace", "Start-up grace", self.grace, "Failures right after a start do not count")):
            widget.setToolTip(tip)
            self.field_errors.add_row(form, key, label, widget)
        form.addRow("", self.auto_restart)
        col.addLayout(form)
        col.addWidget(self.field_errors.general)
        self.buttons, self.save_button = accept_buttons("Save health check", self.submit, self.reject)
        col.addWidget(self.buttons)

    def set_error(self, field: Optional[str], message: str) -> None:
        key = _FIELD_OF.get(field or "", field or "")
        for name, word in _WORDS.items():
            message = message.replace(name, word)
        self.field_errors.show(key, message[:1].upper() + message[1:])

    def clear_errors(self) -> None:
        self.field_errors.clear()

    def config(self) -> Optional[HealthConfig]:
        self.clear_errors()
        try:
            return HealthConfig.model_validate({
                **self._base.model_dump(), "enabled": self.enabled.isChecked(), "path": self.path.text().strip(),
                "interval_seconds": self.interval.value(), "timeout_seconds": self.timeout.value(),
                "failure_threshold": self.threshold.value(), "expected_status_min": self.status_min.value(),
                "expected_status_max": self.status_max.value(), "auto_restart": self.auto_restart.isChecked(),
                "grace_seconds": self.grace.value()})
        except ValidationError as exc:
            for error in exc.errors():
                where = str(error["loc"][0]) if error["loc"] else None
                message = str(error["msg"]).removeprefix("Value error, ")
                if where is None:  # cross-field rules name their fields in the text
                    where = "timeout_seconds" if "timeout" in message else "expected_status_min"
                self.set_error(where, message)
            return None

    def submit(self) -> None:
        config = self.config()
        if config is None:
            return
        self.ctx.tasks.run(self.ctx.fleet.put_health(self.server, self.app, config),
                           what=f"Could not save the health check of {self.app}", busy_widget=self,
                           on_success=self._saved, on_error=self._failed)

    def _saved(self, report: HealthReport) -> None:
        self.ctx.notifier.success(f"Health check of {self.app} saved",
                                  "Basepod now probes it." if report.monitored else "Checks are off.")
        self.sig_saved.emit(report)
        self.accept()

    def _failed(self, exc: BaseException) -> bool:
        if isinstance(exc, ApiError):
            self.set_error(exc.field, exc.message)
            return True
        return False
