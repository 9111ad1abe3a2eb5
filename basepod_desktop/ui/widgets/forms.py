"""Form plumbing shared by every dialog: error labels under fields, the accept button.

The agent names the offending field in its errors (``ApiError.field``); dialogs show the
message under that field, or in a general label when the field is not on the form.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QDialogButtonBox, QFormLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from basepod_desktop.client import ApiError


def error_label() -> QLabel:
    label = QLabel()
    label.setObjectName("FieldError")
    label.setWordWrap(True)
    label.hide()
    return label


class FieldErrors:
    def __init__(self) -> None:
        self.labels: dict[str, QLabel] = {}
        self.general = error_label()

    def add_row(self, form: QFormLayout, key: str, label: str, widget: QWidget) -> None:
        """The field, and under it the (hidden) label for its errors."""
        form.addRow(label, widget)
        self.labels[key] = error_label()
        form.addRow("", self.labels[key])

    def show(self, field: str | None, message: str) -> QLabel:
        label = self.labels.get(field or "", self.general)
        label.setText(message)
        label.show()
        return label

    def clear(self) -> None:
        for label in [*self.labels.values(), self.general]:
            label.hide()


def accept_buttons(text: str, on_accept: Callable[[], None],
                   on_reject: Callable[[], None]) -> tuple[QDialogButtonBox, QPushButton]:
    """Cancel plus one primary, default button."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
    accept = buttons.addButton(text, QDialogButtonBox.ButtonRole.AcceptRole)
    accept.setProperty("role", "primary")
    accept.setDefault(True)
    buttons.accepted.connect(on_accept)
    buttons.rejected.connect(on_reject)
    return buttons, accept


def show_api_error(exc: BaseException, set_error: Callable[[str | None, str], None]) -> bool:
    """The body of a dialog's ``on_error``: an agent refusal goes under its field and
    counts as handled; anything else goes on to the notification area."""
    if isinstance(exc, ApiError):
        set_error(exc.field, exc.message)
        return True
    return False


def dialog_column(dialog: QWidget, heading: str, hint: str) -> QVBoxLayout:
    """A dialog's main column, opened by its heading and a muted explanation under it."""
    col = QVBoxLayout(dialog)
    col.setContentsMargins(20, 18, 20, 16)
    col.setSpacing(6)
    title = QLabel(heading)
    title.setObjectName("CardTitle")
    col.addWidget(title)
    text = QLabel(hint)
    text.setObjectName("Muted")
    text.setWordWrap(True)
    col.addWidget(text)
    return col
