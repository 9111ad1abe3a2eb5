"""The kept versions of an app, newest first, each with "Roll back to this".

The panel only renders a ``ReleaseList`` and states intent (``sig_rollback_requested``);
the Deploys tab confirms and calls the agent.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from basepod_agent.protocol.routing import ReleaseInfo, ReleaseList
from basepod_desktop.ui import theme


def describe_release(release: ReleaseInfo) -> str:
    what = release.commit_message or (f"image {release.source_image}" if release.source_image else None) \
        or release.source_type or "image"
    commit = f"{release.commit[:8]} · " if release.commit else ""
    return f"{commit}{what}"


class ReleasesPanel(QFrame):
    sig_rollback_requested = Signal(object)  # ReleaseInfo

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReleasesPanel")
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(4)
        self.title = QLabel("Kept versions")
        self.title.setObjectName("CardTitle")
        col.addWidget(self.title)
        self.hint = QLabel()
        self.hint.setObjectName("Muted")
        self.hint.setWordWrap(True)
        col.addWidget(self.hint)
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(12)
        self.grid.setVerticalSpacing(2)
        self.grid.setColumnStretch(2, 1)
        col.addLayout(self.grid)
        self.buttons: dict[str, QPushButton] = {}
        self.enabled = True

    def set_releases(self, listed: ReleaseList | None) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.buttons.clear()
        releases = listed.releases if listed else []
        if not releases:
            self.hint.setText("Every successful deploy is kept as a version you can roll back to.")
            return
        self.hint.setText(f"The last {listed.keep} successful versions stay on the server. Rolling back "
                          "goes through the same zero-downtime switch as a deploy.")
        muted = theme.colors().muted
        for row, release in enumerate(releases):
            version = QLabel(f"<code>{release.version}</code>")
            version.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.grid.addWidget(version, row, 0)
            when = release.deployed_at.strftime("%Y-%m-%d %H:%M") if release.deployed_at else ""
            self.grid.addWidget(QLabel(f"<span style='color:{muted}'>{when}</span>"), row, 1)
            self.grid.addWidget(QLabel(describe_release(release)), row, 2)
            if release.live:
                live = QLabel(f"<b style='color:{theme.colors().success}'>● live</b>")
                self.grid.addWidget(live, row, 3, Qt.AlignmentFlag.AlignRight)
                continue
            button = QPushButton("Roll back to this")
            button.setEnabled(self.enabled)
            button.clicked.connect(lambda _=False, r=release: self.sig_rollback_requested.emit(r))
            self.grid.addWidget(button, row, 3, Qt.AlignmentFlag.AlignRight)
            self.buttons[release.version] = button

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        for button in self.buttons.values():
            button.setEnabled(enabled)
