"""API/session tokens per server: in the OS keyring, or a 0600 file when there is none.

Headless Linux boxes (and CI) often have no Secret Service; refusing to store a token
there would make `bp` unusable, so we fall back to `<config_dir>/tokens.json` (0600,
atomic writes) and tell the user once per machine that this happened.

Keyring calls can block (an unlock prompt, D-Bus): async callers should use
`asyncio.to_thread`.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Optional

from . import paths

log = logging.getLogger(__name__)

TOKENS_FILE = "tokens.json"
NOTICE_MARKER = ".token-fallback-notice-shown"


def _usable_keyring() -> Any:
    """The active keyring backend, or None when it cannot actually store anything."""
    try:
        import keyring
        from keyring.backends import chainer, fail, null
    except Exception as exc:  # keyring missing or broken at import: just use the file
        log.info("keyring unavailable: %s", exc)
        return None
    try:
        backend = keyring.get_keyring()
    except Exception as exc:
        log.info("keyring unavailable: %s", exc)
        return None
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    return backend


class TokenStore:
    """get/set/delete a token per server name.

    Lookups consult the keyring first and the fallback file second, so a token saved
    while the keyring was unavailable is still found later.
    """

    def __init__(
        self,
        config_dir: Optional[str | os.PathLike] = None,
        service: str = "basepod",
        *,
        use_keyring: Optional[bool] = None,
    ):
        self.config_dir = Path(config_dir) if config_dir is not None else paths.config_dir()
        self.service = service
        self.path = self.config_dir / TOKENS_FILE
        if use_keyring is None:
            use_keyring = os.environ.get("BASEPOD_KEYRING", "1").strip().lower() not in ("0", "false", "no", "off")
        self._backend = _usable_keyring() if use_keyring else None
        self._notice: Optional[str] = None

    @property
    def uses_keyring(self) -> bool:
        return self._backend is not None

    @property
    def fallback_notice(self) -> Optional[str]:
        """A sentence for the user after the first fallback write on this machine, else None."""
        return self._notice

    # -- public API -------------------------------------------------------------------

    def get(self, server_name: str) -> Optional[str]:
        if self._backend is not None:
            try:
                value = self._backend.get_password(self.service, server_name)
            except Exception as exc:
                log.warning("keyring lookup failed, using %s: %s", self.path, exc)
            else:
                if value is not None:
                    return value
        return self._read_file().get(server_name)

    def set(self, server_name: str, token: str) -> None:
        if self._backend is not None:
            try:
                self._backend.set_password(self.service, server_name, token)
            except Exception as exc:
                log.warning("keyring write failed, falling back to %s: %s", self.path, exc)
            else:
                self._drop_from_file(server_name)
                return
        tokens = self._read_file()
        tokens[server_name] = token
        self._write_file(tokens)
        self._note_fallback()

    def delete(self, server_name: str) -> None:
        """Forget the token everywhere it might be; deleting a missing token is fine."""
        if self._backend is not None:
            try:
                self._backend.delete_password(self.service, server_name)
            except Exception as exc:  # PasswordDeleteError when absent, KeyringError, ...
                log.debug("keyring delete for %s: %s", server_name, exc)
        self._drop_from_file(server_name)

    # -- fallback file ----------------------------------------------------------------

    def _read_file(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            log.warning("ignoring unreadable token file %s: %s", self.path, exc)
            return {}
        tokens = data.get("tokens", {}) if isinstance(data, dict) else {}
        return {k: v for k, v in tokens.items() if isinstance(k, str) and isinstance(v, str)}

    def _write_file(self, tokens: dict[str, str]) -> None:
        paths.ensure_private_dir(self.config_dir)
        payload = {"service": self.service, "tokens": tokens}
        paths.write_private_file(self.path, (json.dumps(payload, indent=2) + "\n").encode())

    def _drop_from_file(self, server_name: str) -> None:
        tokens = self._read_file()
        if server_name in tokens:
            del tokens[server_name]
            self._write_file(tokens)

    def _note_fallback(self) -> None:
        marker = self.config_dir / NOTICE_MARKER
        try:
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        os.close(fd)
        self._notice = (
            f"No system keyring is available, so Basepod saved your server token in {self.path} "
            "(readable only by you). Install and unlock a keyring (e.g. GNOME Keyring or "
            "KWallet) to keep tokens out of plain files."
        )
