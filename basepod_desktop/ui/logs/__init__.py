"""Live log viewing: the :class:`LogViewer` widget used on the app page and for build logs."""

from basepod_desktop.ui.logs.viewer import LogViewer

__all__ = ["LogViewer"]
