"""The Env tab of the app page: edit variables in a table or as text, review, save.

All edits go to one ``EnvDraft`` (Qt-free: undo, diff, validation). Saving sends the
revision the draft was loaded at, so if someone else saved meanwhile the agent answers
409 and this tab says so and offers a reload, instead of overwriting their change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableView, QVBoxLayout,
    QWidget,
)

from basepod_desktop.client import ApiError, Conflict, Forbidden
from basepod_desktop.core.envedit import DotenvError, EnvDraft, parse_dotenv
from basepod_desktop.ui.context import UiContext
from basepod_desktop.ui.dialogs.env_bulk import EnvBulkDialog
from basepod_desktop.ui.dialogs.env_diff import EnvDiffDialog
from basepod_desktop.ui.env_model import COL_KEY, COL_REVEAL, COL_VALUE, EnvTableModel
from basepod_desktop.ui.widgets.callout import Callout


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class EnvTab(QWidget):
    sig_saved = Signal()

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.server: Optional[str] = None
        self.app: Optional[str] = None
        self.draft = EnvDraft()
        self.loaded = False
        self.model = EnvTableModel(self.draft, self)
        col = QVBoxLayout(self)
        col.setContentsMargins(16, 14, 16, 14)
        col.setSpacing(10)
        bar = QHBoxLayout()
        bar.setSpacing(6)
        self.buttons: dict[str, QPushButton] = {}
        for key, label, tip in (("add", "+ Add", "Add a variable (Ctrl+Shift+A)"),
                                ("remove", "Remove", "Remove the selected variable (Del)"),
                                ("bulk", "Edit as .env…", "Edit every variable as text"),
                                ("import", "Import .env…", "Add or overwrite variables from a .env file"),
                                ("undo", "Undo", "Undo the last unsaved edit (Ctrl+Z)"),
                                ("reload", "Reload", "Discard unsaved edits and load the saved values"),
                                ("save", "Review && save…", "See the changes, then save them (Ctrl+S)")):
            button = QPushButton(label, toolTip=tip)
            button.clicked.connect(lambda _=False, k=key: self.trigger(k))
            if key == "save":
                button.setProperty("role", "primary")
            if key == "reload":
                bar.addStretch()
            bar.addWidget(button)
            self.buttons[key] = button
        col.addLayout(bar)
        self.callout = Callout()
        self.callout.sig_action.connect(self.trigger)
        col.addWidget(self.callout)
        self.table = QTableView()
        self.table.setObjectName("EnvTable")
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(34)
        self.table.setShowGrid(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        head = self.table.horizontalHeader()
        head.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        head.setHighlightSections(False)
        head.setSectionResizeMode(COL_KEY, QHeaderView.ResizeMode.Interactive)
        head.setSectionResizeMode(COL_VALUE, QHeaderView.ResizeMode.Stretch)
        head.setSectionResizeMode(COL_REVEAL, QHeaderView.ResizeMode.Fixed)
        head.resizeSection(COL_KEY, 240)
        head.resizeSection(COL_REVEAL, 70)
        self.table.clicked.connect(self._clicked)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update())
        col.addWidget(self.table, 1)
        self.problems = QLabel()
        self.problems.setObjectName("FieldError")
        self.problems.setWordWrap(True)
        col.addWidget(self.problems)
        self.status = QLabel()
        self.status.setObjectName("Muted")
        col.addWidget(self.status)
        self.model.dataChanged.connect(lambda *_: self._update())
        self.model.modelReset.connect(self._update)
        for keys, slot in ((QKeySequence.StandardKey.Undo, lambda: self.trigger("undo")),
                           (QKeySequence.StandardKey.Save, lambda: self.trigger("save")),
                           (QKeySequence("Ctrl+Shift+A"), lambda: self.trigger("add")),
                           (QKeySequence(Qt.Key.Key_Delete), lambda: self.trigger("remove"))):
            action = QAction(self, shortcut=QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
        self._update()

    # --- loading -----------------------------------------------------------------------

    def show_app(self, server: str, app: str) -> None:
        if (server, app) == (self.server, self.app) and self.loaded:
            return
        self.server, self.app = server, app
        self.draft.load({}, None)
        self.loaded = False
        self.callout.hide()
        self.model.set_locked(None)
        self.model.reset()
        self.reload()

    def reload(self) -> None:
        if self.server is None or self.ctx.fleet.is_stale(self.server):
            self.status.setText("Not connected: the env loads once the server answers.")
            return
        server, app = self.server, self.app
        self.status.setText("Loading…")

        def done(view) -> None:
            if (server, app) != (self.server, self.app):
                return
            self.draft.load(view.env, view.revision)
            self.model.revealed.clear()
            self.model.set_locked(None)
            self.loaded = True
            self.callout.hide()
            self.model.reset()

        self.ctx.tasks.run(self.ctx.fleet.get_env(server, app), what=f"Could not load the env of {app}",
                           on_success=done, on_error=self._load_failed)

    def _load_failed(self, exc: BaseException) -> bool:
        if not isinstance(exc, Forbidden):
            return False
        info = self.ctx.fleet.snapshot(self.server).app(self.app)
        self.model.set_locked(info.env_keys if info else [])
        self.loaded = False
        self.callout.show_message("info", "<b>Values are hidden.</b> Only admins of this server can see "
                                  "and edit environment values; you see the names. Ask an admin, or use "
                                  "<code>bp env set</code> with a deployer token to change one.")
        self._update()
        return True

    # --- intent ------------------------------------------------------------------------

    def trigger(self, key: str) -> None:
        button = self.buttons.get(key)
        if button is not None and not button.isEnabled():
            return
        if key == "add":
            row = self.draft.add()
            self.model.reset()
            index = self.model.index(row, COL_KEY)
            self.table.setCurrentIndex(index)
            self.table.edit(index)
        elif key == "remove":
            row = self.selected_row()
            if row is not None:
                self.draft.remove(row)
                self.model.reset()
        elif key == "undo":
            if self.draft.undo():
                self.model.reset()
        elif key == "bulk":
            self.open_bulk()
        elif key == "import":
            path, _ = QFileDialog.getOpenFileName(self, "Import a .env file", str(Path.home()),
                                                  "Env files (*.env .env* *);;All files (*)")
            if path:
                self.import_file(Path(path))
        elif key == "reload":
            self.reload()
        elif key == "save":
            self.review()

    def selected_row(self) -> Optional[int]:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def _clicked(self, index) -> None:
        if index.column() == COL_REVEAL:
            self.model.toggle_reveal(index.row())

    def open_bulk(self) -> EnvBulkDialog:
        dialog = EnvBulkDialog(self.app or "", self.draft.to_dotenv(), self)
        dialog.sig_applied.connect(self._bulk_applied)
        dialog.open()
        return dialog

    def _bulk_applied(self, env: dict) -> None:
        self.draft.replace_all(env)
        self.model.reset()

    def import_file(self, path: Path) -> bool:
        try:
            env = parse_dotenv(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            self.callout.show_message("danger", f"<b>Could not read {_esc(path.name)}</b>: {_esc(str(exc))}")
            return False
        except DotenvError as exc:
            self.callout.show_message("danger", f"<b>{_esc(path.name)}, line {exc.line}:</b> {_esc(exc.message)}. "
                                      "Nothing was imported.")
            return False
        self.draft.merge(env)
        self.model.reset()
        self.callout.show_message("info", f"Imported {len(env)} variable{'s' if len(env) != 1 else ''} from "
                                  f"{_esc(path.name)}. Review and save to keep them.")
        return True

    def review(self) -> Optional[EnvDiffDialog]:
        if self.draft.problems():
            self._update()
            return None
        diff = self.draft.diff()
        if not diff:
            return None
        info = self.ctx.fleet.snapshot(self.server).app(self.app)
        dialog = EnvDiffDialog(self.app, diff, running=info is not None and info.status.value == "running",
                               parent=self)
        dialog.accepted.connect(self.save)
        dialog.open()
        return dialog

    def save(self) -> None:
        server, app = self.server, self.app
        env, revision = self.draft.current, self.draft.revision

        def done(state) -> None:
            if (server, app) != (self.server, self.app):
                return
            self.draft.load(env, state.revision)
            self.model.reset()
            self.callout.hide()
            self.ctx.notifier.success(f"Env of {app} saved",
                                      "Apply it to restart the app with the new values." if state.restart_needed
                                      else "")
            self.sig_saved.emit()

        self.ctx.tasks.run(self.ctx.fleet.put_env(server, app, env, revision), what=f"Could not save the env of {app}",
                           busy_widget=self.buttons["save"], on_success=done, on_error=self._save_failed)

    def _save_failed(self, exc: BaseException) -> bool:
        if isinstance(exc, Conflict):
            self.callout.show_message(
                "danger", f"<b>Someone else changed the env of {_esc(self.app)}</b> while you were editing, so "
                "nothing was saved. Reload to see their values (your unsaved edits here are discarded), "
                "then make your change again.", (("reload", "Reload", True),))
            return True
        if isinstance(exc, Forbidden):
            self.callout.show_message("info", f"<b>Not allowed:</b> {_esc(exc.message)}. Ask an admin of this "
                                      "server for the deployer or admin role.")
            return True
        if isinstance(exc, ApiError):
            where = f" ({_esc(exc.field)})" if exc.field else ""
            self.callout.show_message("danger", f"<b>The server refused the env{where}:</b> {_esc(exc.message)}")
            return True
        return False

    # --- rendering ---------------------------------------------------------------------

    def _update(self) -> None:
        live = self.server is not None and not self.ctx.fleet.is_stale(self.server)
        editable = live and self.loaded and not self.model.locked
        problems = self.draft.problems() if editable else []
        diff = self.draft.diff()
        for key in ("add", "bulk", "import"):
            self.buttons[key].setEnabled(editable)
        self.buttons["remove"].setEnabled(editable and self.selected_row() is not None)
        self.buttons["undo"].setEnabled(editable and self.draft.can_undo)
        self.buttons["save"].setEnabled(editable and bool(diff) and not problems)
        self.buttons["reload"].setEnabled(live)
        self.problems.setText("\n".join(p.message for p in problems[:3])
                              + (f"\n…and {len(problems) - 3} more" if len(problems) > 3 else ""))
        self.problems.setVisible(bool(problems))
        if self.model.locked:
            count = len(self.model.locked_keys)
            self.status.setText(f"{count} variable{'s' if count != 1 else ''} · values visible to admins only")
        elif self.loaded:
            count = len(self.draft.rows)
            pending = f" · unsaved: {diff.summary()}" if diff else " · no unsaved changes"
            self.status.setText(f"{count} variable{'s' if count != 1 else ''} · revision {self.draft.revision}"
                                + pending)
