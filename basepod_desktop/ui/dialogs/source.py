"""Where an app's code comes from: a git repository (URL, branch, subfolder) or an image.

The form builds a ``GitSource``/``ImageSource`` locally first, so a bad URL or branch is
named under its field by the protocol's own rules before anything is sent; what only
the agent can judge comes back as ``ApiError.field``. A deploy key is write-only: the
agent says whether one is stored, never what it is, so the box stays empty and leaving
it empty keeps the stored key.
"""

from __future__ import annotations

from typing import Optional

from pydantic import ValidationError
from PySide6.QtCore import Signal
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QButtonGroup, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit,
    QRadioButton, QStackedWidget, QVBoxLayout, QWidget,
)

from basepod_agent.protocol import GitSource, ImageSource, SourceInfo
from basepod_desktop.client import ApiError
from basepod_desktop.ui.context import UiContext
from basepod_desktop.ui.widgets.forms import FieldErrors, accept_buttons


class SourceDialog(QDialog):
    sig_saved = Signal(object)  # SourceInfo

    def __init__(self, ctx: UiContext, server: str, app: str, current: Optional[SourceInfo] = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.server, self.app = ctx, server, app
        self.setObjectName("SourceDialog")
        self.setWindowTitle(f"Source of {app}")
        self.setMinimumWidth(540)
        source = current.source if current is not None else None
        col = QVBoxLayout(self)
        col.setContentsMargins(20, 18, 20, 16)
        col.setSpacing(6)
        heading = QLabel("Deploy source")
        heading.setObjectName("CardTitle")
        col.addWidget(heading)
        hint = QLabel(f"What <b>Deploy</b> builds and runs for {app}. A repository is cloned on the server "
                      "and built from its Dockerfile, or from a detected stack when it has none.")
        hint.setObjectName("Muted")
        hint.setWordWrap(True)
        col.addWidget(hint)
        col.addSpacing(4)
        kinds = QHBoxLayout()
        self.git_radio = QRadioButton("Git repository")
        self.image_radio = QRadioButton("Container image")
        self._kinds = QButtonGroup(self)
        for button in (self.git_radio, self.image_radio):
            self._kinds.addButton(button)
            kinds.addWidget(button)
        kinds.addStretch()
        col.addLayout(kinds)
        self.field_errors = FieldErrors()
        self.errors = self.field_errors.labels
        self.pages = QStackedWidget()
        git_page = QWidget()
        git_form = QFormLayout(git_page)
        git_form.setContentsMargins(0, 8, 0, 0)
        git_form.setVerticalSpacing(6)
        git_form.setHorizontalSpacing(16)
        git = source if isinstance(source, GitSource) else None
        self.url = QLineEdit(git.url if git else "", placeholderText="https://github.com/owner/repo.git")
        self.branch = QLineEdit(git.branch if git else "main", placeholderText="main")
        self.subdir = QLineEdit((git.subdir or "") if git else "", placeholderText="optional, e.g. services/web")
        self.deploy_key = QPlainTextEdit()
        self.deploy_key.setPlaceholderText(
            "A key is stored — paste a new one to replace it" if current is not None and current.has_deploy_key
            else "Optional: private SSH key, for a private repository over ssh")
        self.deploy_key.setFixedHeight(64)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setStyleHint(QFont.StyleHint.TypeWriter)
        self.deploy_key.setFont(mono)
        for key, label, widget, tip in (
                ("url", "Repository URL", self.url, "https, ssh, git@host:path or file:// on the server"),
                ("branch", "Branch", self.branch, "Deploy builds the head of this branch"),
                ("subdir", "Subfolder", self.subdir, "Build from this folder of the repository (monorepos)"),
                ("deploy_key", "Deploy key", self.deploy_key, "Sent once, stored encrypted, never shown again")):
            widget.setToolTip(tip)
            self.field_errors.add_row(git_form, key, label, widget)
        self.pages.addWidget(git_page)
        image_page = QWidget()
        image_form = QFormLayout(image_page)
        image_form.setContentsMargins(0, 8, 0, 0)
        image_form.setHorizontalSpacing(16)
        image = source if isinstance(source, ImageSource) else None
        self.image = QLineEdit(image.image if image else "", placeholderText="docker.io/library/nginx:1.27")
        self.image.setToolTip("Deploy pulls and runs this image as it is")
        self.field_errors.add_row(image_form, "image", "Image", self.image)
        self.pages.addWidget(image_page)
        col.addWidget(self.pages)
        col.addWidget(self.field_errors.general)
        col.addStretch()
        self.buttons, self.save_button = accept_buttons("Save source", self.submit, self.reject)
        col.addWidget(self.buttons)
        self._kinds.buttonToggled.connect(lambda *_: self._kind_changed())
        (self.image_radio if image else self.git_radio).setChecked(True)
        self._kind_changed()

    @property
    def kind(self) -> str:
        return "image" if self.image_radio.isChecked() else "git"

    def _kind_changed(self) -> None:
        self.pages.setCurrentIndex(1 if self.kind == "image" else 0)
        self.clear_errors()
        (self.image if self.kind == "image" else self.url).setFocus()

    def set_error(self, field: Optional[str], message: str) -> None:
        self.field_errors.show(field, message[:1].upper() + message[1:])
        self.adjustSize()  # room for the message: the dialog must not clip its last field

    def clear_errors(self) -> None:
        self.field_errors.clear()

    def source(self) -> GitSource | ImageSource | None:
        self.clear_errors()
        try:
            if self.kind == "image":
                return ImageSource(image=self.image.text().strip())
            key = self.deploy_key.toPlainText().strip()
            return GitSource(url=self.url.text().strip(), branch=self.branch.text().strip() or "main",
                             subdir=self.subdir.text().strip() or None,
                             deploy_key=(key + "\n") if key else None)
        except ValidationError as exc:
            for error in exc.errors():
                where = str(error["loc"][0]) if error["loc"] else None
                message = str(error["msg"]).removeprefix("Value error, ")
                if where == "image" and error["type"] == "string_pattern_mismatch":
                    message = "Not an image reference (letters, digits and . _ / : @ - only)"
                elif error["type"] == "string_too_short":
                    message = "Required"
                self.set_error(where, message)
            return None

    def submit(self) -> None:
        source = self.source()
        if source is None:
            return
        self.ctx.tasks.run(self.ctx.fleet.set_source(self.server, self.app, source),
                           what=f"Could not save the source of {self.app}", busy_widget=self,
                           on_success=self._saved, on_error=self._failed)

    def _saved(self, info: SourceInfo) -> None:
        self.ctx.notifier.success(f"Source of {self.app} saved", "Press Deploy to build it.")
        self.sig_saved.emit(info)
        self.accept()

    def _failed(self, exc: BaseException) -> bool:
        if isinstance(exc, ApiError):
            field = (exc.field or "").split(".")[-1] or None
            self.set_error(field if field in self.errors else None, exc.message)
            return True
        return False


class DockerfileDialog(QDialog):
    """The Dockerfile a deploy's stack detection wrote, read-only and copyable."""

    def __init__(self, app: str, deploy_id: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("DockerfileDialog")
        self.setWindowTitle(f"Generated Dockerfile · {app}")
        self.resize(640, 420)
        col = QVBoxLayout(self)
        col.setContentsMargins(20, 18, 20, 16)
        col.setSpacing(8)
        heading = QLabel("Generated Dockerfile")
        heading.setObjectName("CardTitle")
        col.addWidget(heading)
        hint = QLabel(f"Deploy {deploy_id} found no Dockerfile in the repository, so Basepod wrote this "
                      "one from the detected stack. Commit your own Dockerfile to take over.")
        hint.setObjectName("Muted")
        hint.setWordWrap(True)
        col.addWidget(hint)
        self.text = QPlainTextEdit(text)
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setStyleHint(QFont.StyleHint.TypeWriter)
        self.text.setFont(mono)
        col.addWidget(self.text, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)
        col.addWidget(self.buttons)
