"""Token store: the 0600 file fallback and its once-per-machine notice."""

from __future__ import annotations

import os
import stat

from basepod_desktop.core.credentials import NOTICE_MARKER, TokenStore


def test_fallback_file_round_trip_and_mode(tmp_path):
    old_umask = os.umask(0)
    try:
        store = TokenStore(tmp_path, use_keyring=False)
        assert not store.uses_keyring
        assert store.get("web") is None
        store.set("web", "tok-1")
        store.set("db", "tok-2")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    other = TokenStore(tmp_path, use_keyring=False)
    assert (other.get("web"), other.get("db")) == ("tok-1", "tok-2")
    other.delete("web")
    other.delete("never-set")
    assert store.get("web") is None and store.get("db") == "tok-2"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["tokens.json", NOTICE_MARKER])


def test_notice_is_shown_once_per_machine(tmp_path):
    first = TokenStore(tmp_path, use_keyring=False)
    assert first.fallback_notice is None  # nothing written yet
    first.set("web", "t")
    notice = first.fallback_notice
    assert notice and "tokens.json" in notice and "keyring" in notice
    second = TokenStore(tmp_path, use_keyring=False)
    second.set("db", "t")
    assert second.fallback_notice is None


def test_env_disables_keyring(tmp_path, monkeypatch):
    monkeypatch.setenv("BASEPOD_KEYRING", "0")
    assert not TokenStore(tmp_path).uses_keyring


class _BrokenKeyring:
    """A backend that exists but fails at use, like a locked Secret Service."""

    def get_password(self, service, name):
        from keyring.errors import KeyringError

        raise KeyringError("locked")

    set_password = delete_password = get_password


def test_keyring_errors_fall_back_to_file(tmp_path):
    store = TokenStore(tmp_path, use_keyring=False)
    store._backend = _BrokenKeyring()
    store.set("web", "tok")
    assert store.get("web") == "tok"
    assert store.fallback_notice
    store.delete("web")
    assert store.get("web") is None
