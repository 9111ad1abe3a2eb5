"""Create-app dialog: checks what it can locally, shows the agent's verdict inline.

Local checks reuse the protocol's own validation rules, so the form and the agent reject
the same names; anything only the agent knows (image missing, name taken, no free port)
comes back as ApiError.field and lands under that field.
"""

from __future__ import annotations

import shlex

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog, QFormLayout, QLabel, QLineEdit, QPlainTextEdit, QSpinBox, QVBoxLayout,
    QWidget,
)

from basepod_agent.protocol import AppCreate
from basepod_agent.protocol import validation as rules
from basepod_desktop.client import ApiError
from basepod_desktop.ui.context import UiContext
from basepod_desktop.ui.widgets.forms import FieldErrors, accept_buttons


class CreateAppDialog(QDialog):
    sig_created = Signal(object)  # AppInfo

    def __init__(self, ctx: UiContext, server: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.server = ctx, server
        self.setObjectName("CreateAppDialog")
        self.setWindowTitle(f"New app on {ctx.display_name(server)}")
        self.setMinimumWidth(480)
        col = QVBoxLayout(self)
        col.setContentsMargins(20, 18, 20, 16)
        heading = QLabel("New app")
        heading.setObjectName("CardTitle")
        col.addWidget(heading)
        hint = QLabel("Runs a container image and publishes its port on the server.")
        hint.setObjectName("Muted")
        col.addWidget(hint)
        form = QFormLayout()
        form.setVerticalSpacing(4)
        form.setHorizontalSpacing(14)
        self.name = QLineEdit(placeholderText="web")
        self.image = QLineEdit(placeholderText="docker.io/library/nginx:1.27")
        self.port = QSpinBox(minimum=1, maximum=65535, value=8080)
        self.command = QLineEdit(placeholderText="optional, e.g.  httpd -f -p 8080")
        self.env = QPlainTextEdit(placeholderText="optional, one KEY=value per line")
        self.env.setFixedHeight(80)
        self.field_errors = FieldErrors()
        self.errors = self.field_errors.labels
        for key, label, widget in (("name", "Name", self.name), ("image", "Image", self.image),
                                   ("port", "Container port", self.port), ("command", "Command", self.command),
                                   ("env", "Environment", self.env)):
            self.field_errors.add_row(form, key, label, widget)
        col.addLayout(form)
        col.addWidget(self.field_errors.general)
        self.buttons, self.create_button = accept_buttons("Create app", self.submit, self.reject)
        col.addWidget(self.buttons)
        self._widgets = {"name": self.name, "image": self.image, "port": self.port,
                         "command": self.command, "env": self.env}

    def set_error(self, field: str | None, message: str) -> None:
        self.field_errors.show(field, message)
        widget = self._widgets.get(field or "")
        if widget is not None:
            widget.setProperty("invalid", True)
            widget.style().polish(widget)
            widget.setFocus()

    def clear_errors(self) -> None:
        self.field_errors.clear()
        for widget in self._widgets.values():
            widget.setProperty("invalid", False)
            widget.style().polish(widget)

    def spec(self) -> AppCreate | None:
        """The request, or None after showing what is wrong with the form."""
        self.clear_errors()
        name, image = self.name.text().strip(), self.image.text().strip()
        problems = {"name": rules.app_name_problem(name), "image": rules.image_problem(image)}
        command = None
        try:
            command = shlex.split(self.command.text()) or None
        except ValueError as exc:
            problems["command"] = f"cannot parse the command: {exc}"
        env: dict[str, str] = {}
        for lineno, line in enumerate(self.env.toPlainText().splitlines(), 1):
            if not line.strip():
                continue
            key, sep, value = line.partition("=")
            problem = (None if sep else f"line {lineno}: expected KEY=value") or rules.env_key_problem(key.strip())
            if problem:
                problems["env"] = problem
                break
            env[key.strip()] = value
        for field, problem in problems.items():
            if problem:
                self.set_error(field, problem)
        if any(problems.values()):
            return None
        try:
            return AppCreate(name=name, image=image, port=self.port.value(), command=command, env=env or None)
        except ValueError as exc:
            self.set_error(None, str(exc))
            return None

    def submit(self) -> None:
        spec = self.spec()
        if spec is None:
            return
        self.ctx.tasks.run(self.ctx.fleet.create_app(self.server, spec), what=f"Could not create {spec.name}",
                           busy_widget=self, on_success=self._created, on_error=self._failed)

    def _created(self, app) -> None:
        self.ctx.notifier.success(f"{app.name} created", f"It is {app.status.value} on port {app.host_port}.")
        self.sig_created.emit(app)
        self.accept()

    def _failed(self, exc: BaseException) -> bool:
        if isinstance(exc, ApiError):
            self.set_error(exc.field if exc.field in self._widgets else None, exc.message)
            return True
        return False
