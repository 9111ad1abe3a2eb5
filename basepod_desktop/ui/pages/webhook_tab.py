"""The Webhook tab of the app page: enable GitHub's push webhook, copy what GitHub needs,
and watch deliveries arrive.

The secret is never part of the status the tab loads: Reveal and Copy ask the agent for
it (an explicit call the agent writes to its activity log), and a regenerated one is
shown from the setup answer. The deliveries table reloads when the agent pushes a
``WebhookDelivered`` for this app.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView, QFrame, QGridLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
    QStackedWidget, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from basepod_agent.protocol import DeliveryResult, WebhookDelivery, WebhookStatus
from basepod_desktop.core.webhooks import WebhookCalls, is_delivery_of, short_commit
from basepod_desktop.ui import theme
from basepod_desktop.ui.context import UiContext
from basepod_desktop.ui.dialogs.confirm import confirm
from basepod_desktop.ui.tray import app_icon
from basepod_desktop.ui.widgets.callout import Callout
from basepod_desktop.ui.widgets.live_tab import LiveTab
from basepod_desktop.ui.widgets.panels import EmptyState

POLL_MS = 30_000  # deliveries are pushed; this only catches up after a missed event
MASK = "•" * 24
COLUMNS = ("Time", "Event", "Branch", "Commit", "Signature", "Result", "Deploy")
_RESULT_TONE = {DeliveryResult.DEPLOYED: "success", DeliveryResult.PONG: "info", DeliveryResult.ERROR: "danger",
                DeliveryResult.REJECTED: "danger", DeliveryResult.IGNORED: "muted", DeliveryResult.DUPLICATE: "muted"}
STEPS = (
    "<ol style='margin-left:-20px'>"
    "<li>On GitHub, open the repository, then <b>Settings → Webhooks → Add webhook</b>.</li>"
    "<li><b>Payload URL</b>: paste the URL above. <b>Content type</b>: <code>application/json</code>.</li>"
    "<li><b>Secret</b>: paste the secret above.</li>"
    "<li><b>Which events</b>: choose <i>Just the push event</i>, keep <i>Active</i> ticked, "
    "and press <b>Add webhook</b>.</li>"
    "<li>GitHub sends a ping at once: it appears below as <i>pong</i>. From then on, every push "
    "to <b>{branch}</b> deploys the pushed commit.</li></ol>"
)


def _tone_color(tone: str) -> str:
    return getattr(theme.colors(), tone)


class WebhookTab(LiveTab):
    sig_loaded = Signal()

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.calls = WebhookCalls(ctx.fleet)
        self.server: Optional[str] = None
        self.app: Optional[str] = None
        self.status: Optional[WebhookStatus] = None
        self.deliveries: list[WebhookDelivery] = []
        self.secret: Optional[str] = None  # known only after Reveal, Copy or setup
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget()
        outer.addWidget(self.stack)
        self._build_empty()
        self.loading = QLabel("Loading the webhook…")
        self.loading.setObjectName("Muted")
        self.loading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.loading)
        self._build_content()
        self._timer = QTimer(self, interval=POLL_MS, timeout=lambda: self.reload(background=True))
        ctx.bridge.sig_event.connect(self._event)

    # --- building ----------------------------------------------------------------------

    def _build_empty(self) -> None:
        self.empty = EmptyState(app_icon(color=theme.colors().border), "Deploy on every git push",
                                "GitHub tells Basepod about each push: a push to the branch below deploys "
                                "the pushed commit. Deliveries are signed with a secret only GitHub and "
                                "this server know.",
                                "Enable webhook")
        row = QHBoxLayout()
        row.addStretch()
        row.addWidget(QLabel("Branch"))
        self.branch_edit = QLineEdit(placeholderText="the source's branch (main)")
        self.branch_edit.setFixedWidth(240)
        self.branch_edit.returnPressed.connect(self.enable)
        row.addWidget(self.branch_edit)
        row.addStretch()
        layout = self.empty.layout()
        at = layout.indexOf(self.empty.button) - 1
        layout.insertSpacing(at, 10)
        layout.insertLayout(at + 1, row)
        self.empty.sig_action.connect(self.enable)
        self.stack.addWidget(self.empty)

    def _copy_row(self, grid: QGridLayout, row: int, label: str, field: QLineEdit, *buttons: QPushButton) -> None:
        name = QLabel(label)
        name.setObjectName("Muted")
        grid.addWidget(name, row, 0)
        field.setReadOnly(True)
        grid.addWidget(field, row, 1)
        box = QHBoxLayout()
        box.setSpacing(6)
        for button in buttons:
            box.addWidget(button)
        grid.addLayout(box, row, 2, Qt.AlignmentFlag.AlignLeft)

    def _build_content(self) -> None:
        self.content = QWidget()
        col = QVBoxLayout(self.content)
        col.setContentsMargins(20, 16, 20, 16)
        col.setSpacing(10)
        head = QHBoxLayout()
        self.headline = QLabel()
        self.headline.setObjectName("Stat")
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        head.addWidget(self.headline, 1)
        self.regenerate_button = QPushButton("Regenerate secret…", toolTip="A new secret; GitHub needs it pasted again")
        self.regenerate_button.clicked.connect(self.ask_regenerate)
        head.addWidget(self.regenerate_button)
        self.disable_button = QPushButton("Disable…", toolTip="Refuse GitHub's deliveries from now on")
        self.disable_button.setProperty("role", "danger")
        self.disable_button.clicked.connect(self.ask_disable)
        head.addWidget(self.disable_button)
        col.addLayout(head)
        self.callout = Callout()
        col.addWidget(self.callout)
        card = QFrame()
        card.setObjectName("Card")
        grid = QGridLayout(card)
        grid.setContentsMargins(14, 12, 14, 12)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(8)
        grid.setColumnStretch(1, 1)
        self.url_field = QLineEdit()
        self.copy_url = QPushButton("Copy", clicked=lambda: self._copy(self.url_field.text(), self.copy_url))
        self._copy_row(grid, 0, "Payload URL", self.url_field, self.copy_url)
        self.type_field = QLineEdit("application/json")
        self.copy_type = QPushButton("Copy", clicked=lambda: self._copy("application/json", self.copy_type))
        self._copy_row(grid, 1, "Content type", self.type_field, self.copy_type)
        self.secret_field = QLineEdit(MASK)
        self.reveal_button = QPushButton("Reveal", clicked=self.toggle_secret)
        self.copy_secret = QPushButton("Copy", clicked=self.copy_secret_clicked)
        self._copy_row(grid, 2, "Secret", self.secret_field, self.reveal_button, self.copy_secret)
        self.events_label = QLabel("Just the push event")
        events_name = QLabel("Events")
        events_name.setObjectName("Muted")
        grid.addWidget(events_name, 3, 0)
        grid.addWidget(self.events_label, 3, 1)
        col.addWidget(card)
        self.steps = QLabel()
        self.steps.setTextFormat(Qt.TextFormat.RichText)
        self.steps.setWordWrap(True)
        col.addWidget(self.steps)
        col.addSpacing(4)
        title = QLabel("Recent deliveries")
        title.setObjectName("CardTitle")
        col.addWidget(title)
        self.table_stack = QStackedWidget()
        self.no_deliveries = QLabel("No deliveries yet. GitHub's ping shows up here as soon as the webhook "
                                    "is added, then one row per push.")
        self.no_deliveries.setObjectName("Muted")
        self.no_deliveries.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.no_deliveries.setWordWrap(True)
        self.table_stack.addWidget(self.no_deliveries)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("DeliveriesTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(30)
        self.table.setShowGrid(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setHighlightSections(False)
        for column, width in enumerate((150, 70, 110, 120, 90, 90)):
            header.resizeSection(column, width)
        header.setStretchLastSection(True)
        self.table_stack.addWidget(self.table)
        self.table_stack.setMinimumHeight(150)
        col.addWidget(self.table_stack, 1)
        self.stack.addWidget(self.content)

    # --- loading -----------------------------------------------------------------------

    def show_app(self, server: str, app: str) -> None:
        if (server, app) != (self.server, self.app):
            self.server, self.app = server, app
            self.status, self.deliveries, self.secret = None, [], None
            self.stack.setCurrentWidget(self.loading)
        if self.isVisible():
            self.reload()

    def _event(self, server: str, event) -> None:
        if server == self.server and is_delivery_of(event, self.app) and self.isVisible():
            self.reload(background=True)

    def reload(self, background: bool = False) -> None:
        def apply(result) -> None:
            self.status, self.deliveries = result
            self.render()

        self.load_shown(self.calls.overview, "Could not load the webhook of", apply, background)

    # --- rendering ---------------------------------------------------------------------

    def render(self) -> None:
        status = self.status
        if status is None:
            return
        if not status.enabled:
            self.stack.setCurrentWidget(self.empty)
            return
        self.stack.setCurrentWidget(self.content)
        self.headline.setText(f"Webhook on · deploys pushes to <b>{status.branch}</b>")
        self.url_field.setText(status.url or "")
        self.url_field.setPlaceholderText("no public URL configured")
        self.copy_url.setEnabled(bool(status.url))
        if status.url:
            self.callout.hide()
        else:
            self.callout.show_message("warning", f"<b>No payload URL yet.</b> {status.url_note}")
        self.events_label.setText(", ".join(status.events) + " (GitHub: “Just the push event”)")
        self._render_secret()
        self.steps.setText(STEPS.format(branch=status.branch))
        self._render_deliveries()

    def _render_secret(self) -> None:
        shown = self.secret is not None and self.reveal_button.text() == "Hide"
        self.secret_field.setText(self.secret if shown else MASK)

    def _render_deliveries(self) -> None:
        self.table_stack.setCurrentWidget(self.table if self.deliveries else self.no_deliveries)
        self.table.setRowCount(len(self.deliveries))
        for row, d in enumerate(self.deliveries):
            tone = _RESULT_TONE[d.result]
            cells = (d.at.astimezone().strftime("%b %d  %H:%M:%S"), d.event or "—", d.branch or "—",
                     short_commit(d.commit) if d.commit else "—", "valid" if d.signature_ok else "invalid", d.result.value,
                     d.deploy_id or "—")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(d.detail or "")
                if column == 5 or (column == 4 and not d.signature_ok):
                    item.setForeground(QColor(_tone_color(tone if column == 5 else "danger")))
                self.table.setItem(row, column, item)

    # --- actions -----------------------------------------------------------------------

    def enable(self) -> None:
        branch = self.branch_edit.text().strip() or None
        self._setup(branch, what=f"Could not enable the webhook of {self.app}")

    def ask_regenerate(self) -> None:
        confirm(self, "Regenerate the webhook secret?",
                "GitHub keeps signing with the old secret until you paste the new one into the webhook's "
                "settings; until then its deliveries are refused.", "Regenerate", lambda: self._setup(None))

    def ask_disable(self) -> None:
        server, app = self.server, self.app

        def yes() -> None:
            self.ctx.tasks.run(self.calls.disable(server, app), what=f"Could not disable the webhook of {app}",
                               on_success=lambda _s: self.reload())

        confirm(self, "Disable the webhook?", "GitHub's deliveries are refused from now on. Enabling it again "
                "makes a new secret.", "Disable", yes)

    def _setup(self, branch: Optional[str], what: str = "Could not regenerate the secret") -> None:
        server, app = self.server, self.app

        def done(result) -> None:
            if (server, app) == (self.server, self.app):
                self.secret = result.secret
                self.reveal_button.setText("Hide")
                self.reload()

        self.ctx.tasks.run(self.calls.setup(server, app, branch), what=what, on_success=done)

    def toggle_secret(self) -> None:
        if self.reveal_button.text() == "Hide":
            self.reveal_button.setText("Reveal")
            self._render_secret()
            return
        self._with_secret(lambda _s: (self.reveal_button.setText("Hide"), self._render_secret()))

    def copy_secret_clicked(self) -> None:
        self._with_secret(lambda s: self._copy(s, self.copy_secret))

    def _with_secret(self, then) -> None:
        if self.secret is not None:
            then(self.secret)
            return
        server, app = self.server, self.app

        def done(result) -> None:
            if (server, app) == (self.server, self.app):
                self.secret = result.secret
                then(result.secret)

        self.ctx.tasks.run(self.calls.secret(server, app), what=f"Could not read the webhook secret of {app}",
                           on_success=done)

    @staticmethod
    def _copy(text: str, button: QPushButton) -> None:
        """The button itself confirms ("Copied"): a notification per copy would be noise."""
        QGuiApplication.clipboard().setText(text)
        button.setText("Copied ✓")
        QTimer.singleShot(1500, button, lambda: button.setText("Copy"))  # not after the button is gone
