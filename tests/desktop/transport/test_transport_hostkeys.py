"""known_hosts parsing and writing, checked against OpenSSH's own ssh-keygen."""

from __future__ import annotations

import os
import stat
import subprocess

import asyncssh

from basepod_desktop.transport import hostkeys


def _keypair(tmp_path, name="hk"):
    path = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path, asyncssh.read_public_key(f"{path}.pub")


def test_fingerprint_matches_ssh_keygen(tmp_path):
    path, key = _keypair(tmp_path)
    out = subprocess.run(["ssh-keygen", "-lf", f"{path}.pub"], check=True, capture_output=True, text=True).stdout
    assert hostkeys.fingerprint_sha256(key) == out.split()[1]
    assert hostkeys.key_type(key) == "ssh-ed25519"


def test_append_then_lookup_respects_ports(tmp_path):
    _, key = _keypair(tmp_path)
    kh = tmp_path / "ssh" / "known_hosts"
    hostkeys.append_known_host(kh, "example.com", 2222, key)
    assert stat.S_IMODE(os.stat(kh).st_mode) == 0o600
    assert kh.read_text().startswith("[example.com]:2222 ssh-ed25519 ")
    assert hostkeys.lookup(kh, "example.com", port=2222).host_keys == [key]
    # An entry for another port is not evidence about this one (OpenSSH semantics).
    assert not hostkeys.lookup(kh, "example.com", port=2200).is_known
    assert not hostkeys.lookup(kh, "example.com", port=22).is_known


def test_ssh_keygen_can_find_what_we_wrote(tmp_path):
    _, key = _keypair(tmp_path)
    kh = tmp_path / "known_hosts"
    kh.write_text("# comment without trailing newline")
    hostkeys.append_known_host(kh, "srv", 22, key)
    out = subprocess.run(["ssh-keygen", "-F", "srv", "-f", str(kh)], capture_output=True, text=True)
    assert out.returncode == 0 and "srv ssh-ed25519" in out.stdout


def test_hashed_entries_and_bad_lines(tmp_path):
    _, key = _keypair(tmp_path)
    kh = tmp_path / "known_hosts"
    kh.write_text(hostkeys.openssh_line("secret.example", None, key) + "\n")
    subprocess.run(["ssh-keygen", "-H", "-f", str(kh)], check=True, capture_output=True)
    hashed = kh.read_text()
    assert hashed.startswith("|1|") and "secret.example" not in hashed
    kh.write_text("this line is garbage\n" + hashed)
    match = hostkeys.lookup(kh, "secret.example")
    assert match.host_keys == [key]
    assert not hostkeys.lookup(kh, "other.example").is_known


def test_missing_file_means_unknown(tmp_path):
    assert not hostkeys.lookup(tmp_path / "absent", "h", port=22).is_known
