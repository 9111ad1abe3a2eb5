"""Desktop preferences in ``<config_dir>/settings.json`` (not secrets, not profiles).

Unknown keys are ignored and a broken file falls back to defaults, so a newer or
hand-edited settings file never stops the app from opening.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from basepod_desktop.core import paths

log = logging.getLogger(__name__)
SETTINGS_FILE = "settings.json"


class DesktopSettings(BaseModel):
    model_config = ConfigDict(extra="ignore")

    close_to_tray: bool = True
    run_local_agent: bool = True
    last_server: Optional[str] = None
    notify_unexpected_stops: bool = True
    # Lines the log viewer keeps; older ones are dropped so a noisy app cannot fill RAM.
    log_max_lines: int = Field(default=10_000, ge=1_000, le=1_000_000)


class SettingsStore:
    def __init__(self, config_dir: Optional[Path] = None) -> None:
        self.config_dir = Path(config_dir) if config_dir else paths.config_dir()
        self.path = self.config_dir / SETTINGS_FILE

    def load(self) -> DesktopSettings:
        try:
            return DesktopSettings.model_validate(json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return DesktopSettings()
        except (ValueError, ValidationError) as exc:
            log.warning("ignoring unreadable %s: %s", self.path, exc)
            return DesktopSettings()

    def save(self, settings: DesktopSettings) -> None:
        paths.ensure_private_dir(self.config_dir)
        paths.write_private_file(self.path, (settings.model_dump_json(indent=2) + "\n").encode())
