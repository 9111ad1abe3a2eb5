"""Basepod desktop: the PySide6 control room and the `bp` CLI.

Everything outside `basepod_desktop.ui` is Qt-free so the CLI and tests can use it
without a display.
"""

__version__ = "0.2.0"
