"""Custom domains of an app: one per line, checked by the protocol's own rules before
anything is sent; what only the agent can judge (a domain another app uses) comes back
under the field."""

from __future__ import annotations

from pydantic import ValidationError
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from basepod_agent.protocol.routing import AppDomains, DomainsUpdate
from basepod_desktop.client import ApiError
from basepod_desktop.ui.context import UiContext
from basepod_desktop.ui.widgets.forms import accept_buttons, error_label


class DomainsDialog(QDialog):
    sig_saved = Signal(object)  # AppDomains

    def __init__(self, ctx: UiContext, server: str, app: str, current: AppDomains,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.server, self.app = ctx, server, app
        self.setObjectName("DomainsDialog")
        self.setWindowTitle(f"Domains of {app}")
        self.setMinimumWidth(480)
        col = QVBoxLayout(self)
        col.setContentsMargins(20, 18, 20, 16)
        col.setSpacing(6)
        heading = QLabel("Domains")
        heading.setObjectName("CardTitle")
        col.addWidget(heading)
        if current.routing:
            secure = any(url.startswith("https://") for url in current.urls)
            text = (f"{app} is always served at <b>{current.default_domain}</b>. Add your own domains, one per "
                    "line, and point their DNS at this server."
                    + (" Public names get HTTPS certificates automatically." if secure else ""))
        else:
            text = ("Routing is off on this server (the agent runs without <code>--http-port</code>): "
                    "domains are saved and served once it is on.")
        hint = QLabel(text)
        hint.setObjectName("Muted")
        hint.setWordWrap(True)
        col.addWidget(hint)
        self.editor = QPlainTextEdit("\n".join(current.domains))
        self.editor.setPlaceholderText("shop.example.com\nwww.shop.example.com")
        self.editor.setFixedHeight(120)
        self.editor.textChanged.connect(lambda: self.error.hide())
        col.addWidget(self.editor)
        self.error = error_label()
        col.addWidget(self.error)
        self.buttons, self.save_button = accept_buttons("Save domains", self.submit, self.reject)
        col.addWidget(self.buttons)

    def domains(self) -> list[str]:
        return [line.strip() for line in self.editor.toPlainText().splitlines() if line.strip()]

    def set_error(self, message: str) -> None:
        self.error.setText(message[:1].upper() + message[1:])
        self.error.show()

    def submit(self) -> None:
        try:
            wanted = DomainsUpdate(domains=self.domains()).domains
        except ValidationError as exc:
            self.set_error(str(exc.errors()[0]["msg"]).removeprefix("Value error, "))
            return
        self.error.hide()
        self.ctx.tasks.run(self.ctx.fleet.set_domains(self.server, self.app, wanted),
                           what=f"Could not save the domains of {self.app}", busy_widget=self,
                           on_success=self._saved, on_error=self._failed)

    def _saved(self, info: AppDomains) -> None:
        self.ctx.notifier.success(f"Domains of {self.app} saved", "\n".join(info.urls))
        self.sig_saved.emit(info)
        self.accept()

    def _failed(self, exc: BaseException) -> bool:
        if isinstance(exc, ApiError):
            self.set_error(exc.message)
            return True
        return False
