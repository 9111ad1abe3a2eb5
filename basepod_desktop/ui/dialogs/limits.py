"""CPU and memory caps of one app.

Each field holds the app's own override: empty means the server's default applies (shown
as the placeholder), ``unlimited`` means no cap even when the server has a default. The
text is checked locally with the protocol's parser first; what only the agent knows (how
many CPUs the server has) comes back as ApiError.field and shows under the field too.
"""

from __future__ import annotations

from typing import Optional

from pydantic import ValidationError
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QFormLayout, QLabel, QLineEdit, QWidget

from basepod_agent.protocol import LimitsApplied, LimitsUpdate, LimitsView
from basepod_agent.protocol.limits import cpus_problem
from basepod_desktop.core.limits import cpus_text, memory_text, override_text, update_from
from basepod_desktop.ui.context import UiContext
from basepod_desktop.ui.widgets.forms import FieldErrors, accept_buttons, dialog_column, show_api_error

_DONE = {
    LimitsApplied.IN_PLACE: "Applied to the running container.",
    LimitsApplied.RECREATED: "The container was recreated with the new limits.",
    LimitsApplied.UNCHANGED: "The container already ran with these limits.",
    LimitsApplied.NO_CONTAINER: "They apply when the container is next created.",
}


class LimitsDialog(QDialog):
    sig_saved = Signal(object)  # LimitsView

    def __init__(self, ctx: UiContext, server: str, app: str, view: LimitsView,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.server, self.app = ctx, server, app
        self.host_cpus = view.host_cpus
        self.setObjectName("LimitsDialog")
        self.setWindowTitle(f"Resource limits of {app}")
        self.setMinimumWidth(480)
        col = dialog_column(self, "Resource limits",
                            f"Caps for {app}'s container. Leave a field empty to use the server's default; "
                            "type <b>unlimited</b> for no cap. A running app may restart once to apply a change.")
        col.addSpacing(6)
        form = QFormLayout()
        form.setVerticalSpacing(6)
        form.setHorizontalSpacing(16)
        self.cpus = QLineEdit(override_text(view, "cpus"),
                              placeholderText=f"server default: {cpus_text(view.default_cpus)}")
        self.cpus.setToolTip(f"CPU cores the app may use, e.g. 0.5; this server has {view.host_cpus}")
        self.memory = QLineEdit(override_text(view, "memory"),
                                placeholderText=f"server default: {memory_text(view.default_memory_bytes)}")
        self.memory.setToolTip("Memory with a unit: 256M, 1.5G, 512K; the app is killed if it needs more")
        self.field_errors = FieldErrors()
        self.errors = self.field_errors.labels
        for line in (self.cpus, self.memory):
            line.textEdited.connect(lambda _t: self.field_errors.clear())
        self.field_errors.add_row(form, "cpus", "CPUs", self.cpus)
        self.field_errors.add_row(form, "memory", "Memory", self.memory)
        col.addLayout(form)
        note = QLabel(f"This server has {view.host_cpus} CPUs. Memory is at least "
                      f"{memory_text(view.min_memory_bytes)}; an app that needs more than its cap is killed "
                      "and shows “out of memory”.")
        note.setObjectName("Muted")
        note.setWordWrap(True)
        col.addWidget(note)
        col.addWidget(self.field_errors.general)
        self.buttons, self.save_button = accept_buttons("Save limits", self.submit, self.reject)
        col.addWidget(self.buttons)

    def limits_update(self) -> Optional[LimitsUpdate]:
        self.field_errors.clear()
        try:
            update = update_from(self.cpus.text(), self.memory.text(), keep_unset=False)
        except ValidationError as exc:
            for error in exc.errors():
                where = str(error["loc"][0]) if error["loc"] else None
                self.set_error(where, str(error["msg"]).removeprefix("Value error, "))
            return None
        if isinstance(update.cpus, float) and (problem := cpus_problem(update.cpus, self.host_cpus)):
            self.set_error("cpus", problem)
            return None
        return update

    def set_error(self, field: Optional[str], message: str) -> None:
        message = message.removeprefix(f"{field}: ") if field else message
        self.field_errors.show(field, message[:1].upper() + message[1:])

    def submit(self) -> None:
        update = self.limits_update()
        if update is None:
            return
        self.ctx.tasks.run(self.ctx.fleet.put_limits(self.server, self.app, update),
                           what=f"Could not change the limits of {self.app}", busy_widget=self,
                           on_success=self._saved, on_error=self._failed)

    def _saved(self, view: LimitsView) -> None:
        self.ctx.notifier.success(f"Limits of {self.app} saved", _DONE.get(view.applied, ""))
        self.sig_saved.emit(view)
        self.accept()

    def _failed(self, exc: BaseException) -> bool:
        return show_api_error(exc, self.set_error)
