"""The Deploys tab of the app page: source, Deploy, the history, and one deploy's build log.

The history reloads when the agent pushes a ``DeployChanged`` for this app. The log of a
running deploy is followed live (``Fleet.follow_deploy_log`` re-attaches at its byte
offset after a dropped link); a finished one is read once. Build-log text arrives in
arbitrary chunks, so ``LineAssembler`` holds a half-received line until it is complete.
While the newest deploy is selected, a newer one (another person, a webhook) takes over
the log; a deliberately selected older deploy stays put.
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import Optional

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSizePolicy, QSplitter, QStackedWidget,
    QTableView, QVBoxLayout, QWidget,
)

from basepod_agent.protocol import BuildEnd, BuildLogChunk, DeployChanged, DeployInfo, GitSource, SourceInfo
from basepod_desktop.core.connection import StreamInterrupted, StreamResumed
from basepod_desktop.ui import theme
from basepod_desktop.ui.widgets.live_tab import LiveTab
from basepod_desktop.ui.context import UiContext
from basepod_desktop.ui.deploys_model import (
    COL_COMMIT, COL_DURATION, COL_STATUS, COL_WHEN, COL_WHO, DeploysModel, deploy_color, describe_commit,
    describe_source, esc,
)
from basepod_desktop.ui.dialogs.source import DockerfileDialog, SourceDialog
from basepod_desktop.ui.pages.deploys_releases import ReleasesSection
from basepod_desktop.ui.logs.chunks import LineAssembler, split_log
from basepod_desktop.ui.logs.viewer import LogViewer
from basepod_desktop.ui.tray import app_icon
from basepod_desktop.ui.widgets.callout import Callout
from basepod_desktop.ui.widgets.panels import EmptyState


class DeploysTab(LiveTab):
    sig_loaded = Signal()

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.server: Optional[str] = None
        self.app: Optional[str] = None
        self.source: Optional[SourceInfo] = None
        self.loaded = False
        self.selected_id: Optional[str] = None
        self.log_for: Optional[str] = None  # the deploy whose log the viewer shows
        self._log_task: Optional[asyncio.Task] = None
        self._assembler = LineAssembler()
        self._loading = self._again = False
        col = QVBoxLayout(self)
        col.setContentsMargins(16, 14, 16, 14)
        col.setSpacing(10)
        bar = QHBoxLayout()
        bar.setSpacing(6)
        self.source_label = QLabel()
        self.source_label.setObjectName("Muted")
        self.source_label.setTextFormat(Qt.TextFormat.RichText)
        self.source_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.source_label.setMinimumWidth(120)  # a long URL is clipped (full text in the tooltip)
        self.source_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        bar.addWidget(self.source_label, 1)
        self.buttons: dict[str, QPushButton] = {}
        for key, label, tip in (("domains", "Domains…", "The addresses the app is served at, your own domains"),
                                ("source", "Source…", "Where Deploy takes the code from: git URL, branch, folder"),
                                ("dockerfile", "Dockerfile…", "The Dockerfile generated for the selected deploy"),
                                ("cancel", "Cancel deploy", "Stop the selected deploy while queued or building"),
                                ("deploy", "Deploy", "Build the source and switch the app to it")):
            button = QPushButton(label, toolTip=tip)
            button.clicked.connect(lambda _=False, k=key: self.trigger(k))
            if key == "deploy":
                button.setProperty("role", "primary")
            elif key == "cancel":
                button.setProperty("role", "danger")
            bar.addWidget(button)
            self.buttons[key] = button
        col.addLayout(bar)
        self.releases = ReleasesSection(ctx, self)
        self.releases.sig_deployed.connect(self._rolled_back)
        col.addWidget(self.releases)
        self.stack = QStackedWidget()
        col.addWidget(self.stack, 1)
        self.empty = EmptyState(app_icon(color=theme.colors().border), "No deploys yet",
                                "No deploys yet — set a source and press Deploy.", "Set a source…")
        self.empty.sig_action.connect(lambda: self.trigger("deploy" if self._has_source() else "source"))
        self.stack.addWidget(self.empty)
        self.loading = QLabel("Loading the deploys…")
        self.loading.setObjectName("Muted")
        self.loading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.loading)
        self.model = DeploysModel(self)
        self.table = QTableView()
        self.table.setObjectName("DeploysTable")
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(32)
        self.table.setShowGrid(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        head = self.table.horizontalHeader()
        head.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        head.setHighlightSections(False)
        head.setSectionResizeMode(COL_COMMIT, QHeaderView.ResizeMode.Stretch)
        for column, width in ((COL_STATUS, 130), (COL_WHO, 190), (COL_WHEN, 160), (COL_DURATION, 100)):
            head.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            head.resizeSection(column, width)
        self.table.setMinimumHeight(130)  # header and three rows, however many banners are open
        self.table.selectionModel().currentRowChanged.connect(lambda current, _prev: self._picked(current.row()))
        log_panel = QWidget()
        log_col = QVBoxLayout(log_panel)
        log_col.setContentsMargins(0, 6, 0, 0)
        log_col.setSpacing(6)
        self.log_title = QLabel()
        self.log_title.setObjectName("CardTitle")
        self.log_title.setTextFormat(Qt.TextFormat.RichText)
        log_col.addWidget(self.log_title)
        self.callout = Callout()
        log_col.addWidget(self.callout)
        self.stream_state = QLabel()
        self.stream_state.setObjectName("Muted")
        self.stream_state.hide()
        log_col.addWidget(self.stream_state)
        self.viewer = LogViewer(log_panel, save_name="build.log")
        self.viewer.setMinimumHeight(160)
        log_col.addWidget(self.viewer, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(log_panel)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([170, 400])
        self.stack.addWidget(self.splitter)
        self._timer = QTimer(self, interval=1000, timeout=self._tick)
        ctx.bridge.sig_event.connect(self._event)
        ctx.bridge.sig_status.connect(lambda name, _s: self._update() if name == self.server else None)
        self._update()

    # --- loading -----------------------------------------------------------------------

    def show_app(self, server: str, app: str) -> None:
        if (server, app) != (self.server, self.app):
            self.stop_log()
            self.server, self.app = server, app
            self.releases.server, self.releases.app = server, app
            self.releases.hide()
            self.source, self.selected_id, self.loaded = None, None, False
            self.model.set_deploys([])
            self.viewer.clear()
            self.stack.setCurrentWidget(self.loading)
            self._update()
        if self.isVisible():
            self.reload()

    def _tick(self) -> None:
        if self.model.any_running():
            self.model.tick()

    def _event(self, server: str, event) -> None:
        if isinstance(event, DeployChanged) and (server, event.app) == (self.server, self.app):
            self.reload(background=True)

    def reload(self, background: bool = False) -> None:
        if self.server is None or self.ctx.fleet.is_stale(self.server):
            return
        if self._loading:
            self._again = True  # an event during a load: load once more after it
            return
        self._loading = True
        server, app = self.server, self.app

        async def load():
            return (await self.ctx.fleet.get_source(server, app), await self.ctx.fleet.list_deploys(server, app))

        def done(result) -> None:
            self._finish_load()
            if (server, app) == (self.server, self.app):
                self._loaded(*result)
                self.releases.load(server, app)

        def failed(_exc) -> bool:
            self._finish_load()
            return background

        self.ctx.tasks.run(load(), what=f"Could not load the deploys of {app}", on_success=done, on_error=failed,
                           background=background)

    def _finish_load(self) -> None:
        self._loading = False
        if self._again:
            self._again = False
            self.reload(background=True)

    def _loaded(self, source: SourceInfo, deploys: list[DeployInfo]) -> None:
        newest = self.model.deploy(0)
        follow_newest = self.selected_id is None or (newest is not None and self.selected_id == newest.id)
        self.source, self.loaded = source, True
        self.model.set_deploys(deploys)
        if deploys and (follow_newest or self.model.row_of(self.selected_id) is None):
            self.selected_id = deploys[0].id
        self.stack.setCurrentWidget(self.splitter if deploys else self.empty)
        row = self.model.row_of(self.selected_id) if self.selected_id else None
        if row is not None:
            self.table.selectRow(row)  # re-selects after the reset; _picked opens the log if new
            self._picked(row)
        self._update()
        self.sig_loaded.emit()

    # --- the build log -----------------------------------------------------------------

    def _picked(self, row: int) -> None:
        deploy = self.model.deploy(row)
        if deploy is None:
            return
        self.selected_id = deploy.id
        if deploy.id != self.log_for:
            self._open_log(deploy)
        self._update()

    def stop_log(self) -> None:
        if self._log_task is not None:
            self._log_task.cancel()
            self._log_task = None
        self.viewer.set_live(False)
        self.log_for = None

    def _open_log(self, deploy: DeployInfo) -> None:
        self.stop_log()
        self.viewer.clear()
        self._assembler.reset()
        self._note("")
        self.log_for = deploy.id
        server, app = self.server, self.app
        if deploy.status.finished:
            self._set_live(False, "Loading…")

            def done(result) -> None:
                if self.log_for == deploy.id:
                    self.viewer.append_lines(split_log(result[1]))
                    self._set_live(False, "Build finished")
            self._log_task = self.ctx.tasks.run(self.ctx.fleet.deploy_log(server, app, deploy.id),
                                                what=f"Could not read the build log of {app}", on_success=done)
        else:
            self._log_task = self.ctx.tasks.run(self._follow(server, app, deploy.id),
                                                what=f"The build log of {app} stopped")

    async def _follow(self, server: str, app: str, deploy_id: str) -> None:
        self._note("Waiting for the build log…")
        self._set_live(True)
        async with aclosing(self.ctx.fleet.follow_deploy_log(server, app, deploy_id)) as stream:
            async for message in stream:
                if isinstance(message, BuildLogChunk):
                    if not self.viewer.is_live():
                        self._set_live(True)
                        self._note("")
                    lines = self._assembler.feed(message.text)
                    if lines:
                        self.viewer.append_lines(lines)
                elif isinstance(message, BuildEnd):
                    self.viewer.append_lines(self._assembler.finish())
                    self._set_live(False, f"Build {message.status.value}")
                    self._note("")
                    return
                elif isinstance(message, StreamInterrupted):
                    self.viewer.set_live(False)
                    self._note(f"Reconnecting… the build goes on on the server ({message.reason})")
                elif isinstance(message, StreamResumed):
                    self._set_live(True)
                    self._note("")
        self.viewer.set_live(False)

    def _set_live(self, live: bool, ended: str = "") -> None:
        """The viewer's own words are about app logs; say what they mean for a build."""
        self.viewer.set_live(live)
        empty = self.viewer.empty_state
        if live:
            empty.title.setText("Waiting for the build…")
            empty.detail.setText("Build output appears here as soon as the agent works on this deploy.")
        elif ended:
            grey = theme.colors().muted
            self.viewer.toolbar.live_label.setText(f'<span style="color:{grey}">●</span>&nbsp;{ended}')
            self.viewer.toolbar.live_label.setToolTip("The whole build log, as the agent stored it")
            empty.title.setText("No build output")
            empty.detail.setText("This deploy wrote nothing to its log.")

    def _note(self, text: str) -> None:
        self.stream_state.setText(text)
        self.stream_state.setVisible(bool(text))

    # --- intent ------------------------------------------------------------------------

    def selected(self) -> Optional[DeployInfo]:
        row = self.model.row_of(self.selected_id) if self.selected_id else None
        return self.model.deploy(row) if row is not None else None

    def _has_source(self) -> bool:
        return self.source is not None and self.source.source is not None

    def trigger(self, key: str) -> None:
        button = self.buttons.get(key)
        if button is not None and not button.isEnabled():
            return
        if key == "source":
            self.edit_source()
        elif key == "deploy":
            self.deploy()
        elif key == "cancel":
            self.cancel()
        elif key == "dockerfile":
            self.show_dockerfile()
        elif key == "domains":
            self.releases.edit_domains()

    def _rolled_back(self, deploy_id: str) -> None:
        self.selected_id = deploy_id
        self.reload()

    def edit_source(self) -> Optional[SourceDialog]:
        if self.server is None or self.ctx.fleet.is_stale(self.server):
            return None
        dialog = SourceDialog(self.ctx, self.server, self.app, self.source, self)
        dialog.sig_saved.connect(self._source_saved)
        dialog.open()
        return dialog

    def _source_saved(self, info: SourceInfo) -> None:
        if info.app == self.app:
            self.source = info
            self._update()

    def deploy(self) -> None:
        server, app = self.server, self.app

        def done(created) -> None:
            if (server, app) == (self.server, self.app):
                self.selected_id = created.id
                self.reload()

        self.ctx.tasks.run(self.ctx.fleet.deploy(server, app), what=f"Could not deploy {app}",
                           busy_widget=self.buttons["deploy"], on_success=done)

    def cancel(self) -> None:
        deploy = self.selected()
        if deploy is None or deploy.status.finished:
            return
        server, app = self.server, self.app
        self.ctx.tasks.run(self.ctx.fleet.cancel_deploy(server, app, deploy.id),
                           what=f"Could not cancel the deploy of {app}", busy_widget=self.buttons["cancel"],
                           on_success=lambda _d: self.reload())

    def show_dockerfile(self) -> None:
        deploy = self.selected()
        if deploy is None:
            return
        app = self.app

        def done(text: str) -> None:
            self.dockerfile_dialog = DockerfileDialog(app, deploy.id, text, self)
            self.dockerfile_dialog.open()

        self.ctx.tasks.run(self.ctx.fleet.deploy_dockerfile(self.server, app, deploy.id),
                           what="Could not load the generated Dockerfile", busy_widget=self.buttons["dockerfile"],
                           on_success=done)

    # --- rendering ---------------------------------------------------------------------

    def _update(self) -> None:
        live = self.server is not None and not self.ctx.fleet.is_stale(self.server)
        deploy = self.selected()
        has_source = self._has_source()
        self.source_label.setText(describe_source(self.source) if self.loaded else "")
        source = self.source.source if self.source is not None else None
        self.source_label.setToolTip(f"{source.url}\nbranch {source.branch}" + (f"\nfolder {source.subdir}"
                                     if source.subdir else "") if isinstance(source, GitSource) else "")
        self.buttons["source"].setEnabled(live)
        self.buttons["domains"].setEnabled(live)
        self.releases.set_live(live)
        self.buttons["deploy"].setEnabled(live and has_source)
        self.buttons["cancel"].setEnabled(live and deploy is not None and not deploy.status.finished)
        self.buttons["cancel"].setVisible(deploy is not None and not deploy.status.finished)
        self.buttons["dockerfile"].setEnabled(live and deploy is not None and deploy.dockerfile_generated)
        self.buttons["dockerfile"].setVisible(deploy is not None and deploy.dockerfile_generated)
        if has_source:
            self.empty.set_text("Ready for a first deploy", "The source is set. Press Deploy to build it on the "
                                "server; the app switches to the new build once it succeeds.", True)
            self.empty.button.setText("Deploy now")
        else:
            self.empty.set_text("No deploys yet", "No deploys yet — set a source and press Deploy. Basepod "
                                "builds it on the server and switches the app over when the build succeeds.", True)
            self.empty.button.setText("Set a source…")
        self.empty.button.setEnabled(live)
        if deploy is None:
            self.log_title.setText("")
            self.callout.hide()
            return
        color = deploy_color(deploy.status).name()
        self.log_title.setText(f"Build log · <span style='color:{color}'>{deploy.status.value}</span> · "
                               f"<span style='font-weight:normal'>{esc(describe_commit(deploy))}</span>")
        if deploy.error:
            tone = {"failed": "danger", "interrupted": "warning"}.get(deploy.status.value, "info")
            self.callout.show_message(tone, f"<b>Deploy {deploy.status.value}:</b> {esc(deploy.error)}")
        else:
            self.callout.hide()
