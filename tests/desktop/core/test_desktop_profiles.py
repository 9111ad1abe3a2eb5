"""Server profiles: validation, round-trip through servers.json, private atomic writes."""

from __future__ import annotations

import json
import os
import stat

import pytest
from pydantic import ValidationError

from basepod_desktop.core import paths
from basepod_desktop.core.profiles import (
    DEFAULT_REMOTE_SOCKET,
    ProfileExists,
    ProfileNotFound,
    ProfileStore,
    ProfileStoreCorrupt,
    ServerProfile,
    validation_message,
)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_defaults_and_round_trip(tmp_path):
    store = ProfileStore(tmp_path / "cfg")
    web = ServerProfile(name="web-1", host="web.example.com")
    assert (web.kind, web.port, web.user, web.key_path, web.socket) == ("ssh", 22, None, None, DEFAULT_REMOTE_SOCKET)
    db = ServerProfile(name="db_2", host="10.0.0.5", port=2222, user="deploy", key_path="/home/me/.ssh/id db")
    store.add(web)
    store.add(db)
    assert ProfileStore(tmp_path / "cfg").list() == [web, db]
    assert store.get("db_2") == db
    assert db.display_target == "deploy@10.0.0.5:2222"


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "", "host": "h"},
        {"name": "a" * 64, "host": "h"},
        {"name": "has space", "host": "h"},
        {"name": "dot.name", "host": "h"},
        {"name": "ok", "host": "h", "port": 0},
        {"name": "ok", "host": "h", "port": 65536},
        {"name": "ok", "kind": "ftp", "host": "h"},
        {"name": "ok"},  # ssh without host
        {"name": "ok", "host": "-oProxyCommand=x"},
        {"name": "ok", "host": "a b"},
        {"name": "ok", "host": "h", "socket": "relative.sock"},
    ],
)
def test_invalid_profiles_are_refused(fields):
    with pytest.raises(ValidationError) as info:
        ServerProfile(**fields)
    assert validation_message(info.value)


def test_name_limits_accepted():
    ServerProfile(name="a" * 63, host="h")
    ServerProfile(name="A-z_0", host="h", port=65535)


def test_local_profile_needs_no_host(tmp_path, monkeypatch):
    monkeypatch.setenv("BASEPOD_DATA_DIR", str(tmp_path / "data"))
    local = ServerProfile.local()
    assert local.kind == "local" and local.host is None
    assert local.socket == str(tmp_path / "data" / "agent.sock")
    assert mode(tmp_path / "data") == 0o700


def test_add_update_remove_and_errors(tmp_path):
    store = ProfileStore(tmp_path)
    p = ServerProfile(name="s", host="h")
    store.add(p)
    with pytest.raises(ProfileExists, match="already exists"):
        store.add(p)
    store.add(p.model_copy(update={"port": 2200}), replace=True)
    assert store.get("s").port == 2200
    store.update(ServerProfile(name="s", host="h2"))
    assert store.get("s").host == "h2"
    with pytest.raises(ProfileNotFound, match="'nope'"):
        store.get("nope")
    with pytest.raises(ProfileNotFound):
        store.update(ServerProfile(name="nope", host="h"))
    store.remove("s")
    assert store.list() == []
    with pytest.raises(ProfileNotFound):
        store.remove("s")


def test_default_server(tmp_path):
    store = ProfileStore(tmp_path)
    assert store.get_default() is None
    with pytest.raises(ProfileNotFound):
        store.set_default("a")
    store.add(ServerProfile(name="a", host="h"))
    store.add(ServerProfile(name="b", host="h"))
    store.set_default("b")
    assert ProfileStore(tmp_path).get_default() == "b"
    store.remove("b")
    assert store.get_default() is None
    store.set_default("a")
    store.set_default(None)
    assert store.get_default() is None


def test_file_is_private_and_written_atomically(tmp_path):
    cfg = tmp_path / "cfg"
    store = ProfileStore(cfg)
    old_umask = os.umask(0)  # the worst case: nothing masked
    try:
        store.add(ServerProfile(name="s", host="h"))
    finally:
        os.umask(old_umask)
    assert mode(store.path) == 0o600
    assert mode(cfg) == 0o700
    assert [p.name for p in cfg.iterdir()] == ["servers.json"]  # no temp file left behind
    data = json.loads(store.path.read_text())
    assert data["servers"][0]["name"] == "s"

    inode = os.stat(store.path).st_ino
    store.add(ServerProfile(name="t", host="h"))
    assert os.stat(store.path).st_ino != inode  # replaced, not rewritten in place


def test_corrupt_file_is_reported_and_kept(tmp_path):
    store = ProfileStore(tmp_path)
    store.path.write_text("{not json")
    with pytest.raises(ProfileStoreCorrupt, match="servers.json"):
        store.list()
    with pytest.raises(ProfileStoreCorrupt):
        store.add(ServerProfile(name="s", host="h"))
    assert store.path.read_text() == "{not json"


def test_config_dir_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BASEPOD_CONFIG_DIR", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    assert paths.config_dir() == tmp_path / "home" / ".config" / "basepod"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert paths.config_dir() == tmp_path / "xdg" / "basepod"
    monkeypatch.setenv("BASEPOD_CONFIG_DIR", str(tmp_path / "explicit"))
    assert paths.config_dir() == tmp_path / "explicit"
    assert mode(tmp_path / "explicit") == 0o700
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("BASEPOD_DATA_DIR", raising=False)
    assert paths.data_dir(create=False) == tmp_path / "home" / ".local" / "share" / "basepod"
