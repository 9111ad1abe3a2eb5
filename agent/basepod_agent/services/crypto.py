"""Encryption of secrets at rest (AES-256-GCM) with a key file only the agent can read.

Each ciphertext is bound to where it is stored (``aad``, e.g. ``env:<app id>:<key>``) so a
value copied into another row fails to decrypt instead of leaking into the wrong app.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_FORMAT = b"\x01"
_NONCE = 12


def create_key_file(path: Path) -> None:
    """Write a fresh key, never readable by anyone but the owner, even for an instant."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(base64.b64encode(AESGCM.generate_key(bit_length=256)) + b"\n")


def env_aad(app_id: int, key: str) -> str:
    """Where an env value lives; its ciphertext decrypts only there."""
    return f"env:{app_id}:{key}"


def deploy_key_aad(app_id: int) -> str:
    """Where an app's git deploy key lives (app_sources.deploy_key_enc)."""
    return f"deploy-key:{app_id}"


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("secret key must be 32 bytes")
        self._aead = AESGCM(key)

    @classmethod
    def from_file(cls, path: Path) -> SecretBox:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise PermissionError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
        return cls(base64.b64decode(path.read_bytes().strip()))

    def encrypt(self, plaintext: str, aad: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return _FORMAT + nonce + self._aead.encrypt(nonce, plaintext.encode(), aad.encode())

    def decrypt(self, blob: bytes, aad: str) -> str:
        if blob[:1] != _FORMAT:
            raise ValueError("unknown ciphertext format")
        nonce, body = blob[1 : 1 + _NONCE], blob[1 + _NONCE :]
        return self._aead.decrypt(nonce, body, aad.encode()).decode()


def webhook_secret_aad(app_id: int) -> str:
    """Where an app's webhook secret lives (webhooks.secret_enc)."""
    return f"webhook-secret:{app_id}"
