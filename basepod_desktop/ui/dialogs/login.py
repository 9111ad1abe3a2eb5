"""Login to one server's agent; a wrong password is shown in the dialog, not a banner."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget,
)

from basepod_desktop.client import ApiError
from basepod_desktop.ui.context import UiContext


class LoginDialog(QDialog):
    def __init__(self, ctx: UiContext, server: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.server = ctx, server
        conn = ctx.fleet.connection(server)
        self.setObjectName("LoginDialog")
        self.setWindowTitle(f"Log in to {ctx.display_name(server)}")
        self.setMinimumWidth(420)
        col = QVBoxLayout(self)
        col.setContentsMargins(20, 18, 20, 16)
        heading = QLabel(f"Log in to {ctx.display_name(server)}")
        heading.setObjectName("CardTitle")
        col.addWidget(heading)
        hint = QLabel(f"The agent on {conn.profile.display_target} decides what you may do; "
                      "SSH only carries the connection.")
        hint.setObjectName("Muted")
        hint.setWordWrap(True)
        col.addWidget(hint)
        form = QFormLayout()
        self.email = QLineEdit(placeholderText="you@example.com")
        self.password = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.remember = QCheckBox("Remember me on this computer (stored in the keyring)")
        self.remember.setChecked(True)
        form.addRow("Email", self.email)
        form.addRow("Password", self.password)
        form.addRow("", self.remember)
        col.addLayout(form)
        self.error = QLabel()
        self.error.setObjectName("FieldError")
        self.error.setWordWrap(True)
        self.error.hide()
        col.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.login_button = buttons.addButton("Log in", QDialogButtonBox.ButtonRole.AcceptRole)
        self.login_button.setProperty("role", "primary")
        self.login_button.setDefault(True)
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        col.addWidget(buttons)

    def submit(self) -> None:
        email, password = self.email.text().strip(), self.password.text()
        if not email or not password:
            self._show("Enter your email and password.")
            return
        self.error.hide()
        conn = self.ctx.fleet.connection(self.server)
        self.ctx.tasks.run(conn.login(email, password, self.remember.isChecked()),
                           what=f"Could not log in to {self.server}", busy_widget=self,
                           on_success=lambda _r: self.accept(), on_error=self._failed)

    def _failed(self, exc: BaseException) -> bool:
        if isinstance(exc, ApiError):
            self._show(exc.message)
            self.password.selectAll()
            self.password.setFocus()
            return True
        return False

    def _show(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()
