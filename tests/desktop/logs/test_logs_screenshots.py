"""Screenshots of the viewer with coloured output in light and dark palettes.

They land in tests/artifacts/ for a human to look at; the assertions only check that the
ANSI palette follows the theme (dark text on light, light text on dark).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QPalette

from basepod_desktop.ui.logs import LogViewer

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def light_palette() -> QPalette:
    palette = QPalette()
    for role, color in ((QPalette.ColorRole.Window, "#f6f7f9"), (QPalette.ColorRole.Base, "#ffffff"),
                        (QPalette.ColorRole.Text, "#1f2328"), (QPalette.ColorRole.WindowText, "#1f2328"),
                        (QPalette.ColorRole.Button, "#f6f7f9"), (QPalette.ColorRole.ButtonText, "#1f2328"),
                        (QPalette.ColorRole.Highlight, "#0969da"),
                        (QPalette.ColorRole.HighlightedText, "#ffffff")):
        palette.setColor(role, QColor(color))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor("#6e7781"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#8c959f"))
    return palette


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, color in ((QPalette.ColorRole.Window, "#1c2128"), (QPalette.ColorRole.Base, "#0d1117"),
                        (QPalette.ColorRole.AlternateBase, "#161b22"),
                        (QPalette.ColorRole.Text, "#e6edf3"), (QPalette.ColorRole.WindowText, "#e6edf3"),
                        (QPalette.ColorRole.Button, "#21262d"), (QPalette.ColorRole.ButtonText, "#e6edf3"),
                        (QPalette.ColorRole.Highlight, "#2f81f7"),
                        (QPalette.ColorRole.HighlightedText, "#ffffff"),
                        (QPalette.ColorRole.PlaceholderText, "#7d8590"),
                        (QPalette.ColorRole.Mid, "#30363d"), (QPalette.ColorRole.Dark, "#010409"),
                        (QPalette.ColorRole.Light, "#30363d"), (QPalette.ColorRole.Midlight, "#30363d")):
        palette.setColor(role, QColor(color))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor("#7d8590"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#6e7681"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#6e7681"))
    return palette


@pytest.mark.parametrize("theme, make_palette", [("light", light_palette), ("dark", dark_palette)])
def test_screenshot_of_coloured_output_is_readable_in_light_and_dark(qtbot, sample_lines, theme,
                                                                     make_palette):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    viewer = LogViewer()
    qtbot.addWidget(viewer)
    viewer.setPalette(make_palette())
    viewer.setAutoFillBackground(True)
    viewer.resize(980, 420)
    viewer.show()
    qtbot.waitExposed(viewer)
    viewer.set_live(True)
    viewer.append_lines(sample_lines)
    viewer.flush()
    viewer.set_timestamps_visible(True)
    viewer.search("GET")
    viewer.find_next()
    viewer.set_paused(True)
    viewer.append_lines(sample_lines[:3])
    qtbot.wait(50)
    image = viewer.grab()
    name = "log_viewer.png" if theme == "light" else "log_viewer_dark.png"
    assert image.save(str(ARTIFACTS / name))

    red = viewer._formats.for_style(__import__("basepod_desktop.core.ansi", fromlist=["Style"]).Style(fg=1))
    base = make_palette().color(QPalette.ColorRole.Base)
    contrast = abs(red.foreground().color().lightness() - base.lightness())
    assert contrast > 60, f"red text too close to the {theme} background"


def test_screenshot_of_empty_state(qtbot):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    viewer = LogViewer()
    qtbot.addWidget(viewer)
    viewer.setPalette(light_palette())
    viewer.resize(980, 300)
    viewer.show()
    qtbot.waitExposed(viewer)
    viewer.set_live(True)
    assert viewer.grab().save(str(ARTIFACTS / "log_viewer_empty.png"))
