"""Host key policy against a real sshd: unknown keys ask, known keys pass, changed keys stop.

The confirm callback plays the user's "Trust this server?" dialog.
"""

from __future__ import annotations

import shutil

import pytest
from tunnel_support import keygen_fingerprint, ssh_profile

from basepod_desktop.transport import hostkeys
from basepod_desktop.transport import (
    HostKeyChanged,
    HostKeyInfo,
    HostKeyRejected,
    HostKeyUnknown,
    SshTunnel,
)


class Asker:
    """Records every question; answers with a fixed reply."""

    def __init__(self, answer: bool):
        self.answer = answer
        self.asked: list[HostKeyInfo] = []

    async def __call__(self, info: HostKeyInfo) -> bool:
        self.asked.append(info)
        return self.answer


async def never_ask(info: HostKeyInfo) -> bool:
    raise AssertionError(f"the user must not be asked about {info}")


async def test_unknown_key_confirmed_is_remembered(sshd_server, agent_socket, tmp_path):
    known_hosts = tmp_path / "app" / "known_hosts"  # e.g. a Basepod-only file in the config dir
    profile = ssh_profile(sshd_server, agent_socket)
    asker = Asker(True)
    tunnel = SshTunnel(profile, known_hosts_path=known_hosts, confirm_host_key=asker)
    try:
        await tunnel.open()
    finally:
        await tunnel.aclose()

    [info] = asker.asked
    assert (info.host, info.port) == (sshd_server.host, sshd_server.port)
    assert info.key_type == "ssh-ed25519"
    assert info.fingerprint == keygen_fingerprint(f"{sshd_server.host_key}.pub")
    assert known_hosts.read_text() == sshd_server.known_hosts_line() + "\n"

    again = SshTunnel(profile, known_hosts_path=known_hosts, confirm_host_key=never_ask)
    try:
        await again.open()
    finally:
        await again.aclose()


async def test_declined_key_is_rejected_and_not_saved(sshd_server, agent_socket, tmp_path):
    known_hosts = tmp_path / "known_hosts"
    asker = Asker(False)
    tunnel = SshTunnel(ssh_profile(sshd_server, agent_socket), known_hosts_path=known_hosts, confirm_host_key=asker)
    with pytest.raises(HostKeyRejected):
        await tunnel.open()
    assert len(asker.asked) == 1
    assert not known_hosts.exists()
    assert not tunnel.is_alive


async def test_no_callback_means_unknown(sshd_server, agent_socket, isolated_home):
    # Default known_hosts (~/.ssh/known_hosts in the fake HOME) does not exist yet.
    with pytest.raises(HostKeyUnknown) as info:
        await SshTunnel(ssh_profile(sshd_server, agent_socket)).open()
    err = info.value
    assert (err.host, err.port, err.key_type) == (sshd_server.host, sshd_server.port, "ssh-ed25519")
    assert err.fingerprint == keygen_fingerprint(f"{sshd_server.host_key}.pub")
    assert err.fingerprint in err.message
    assert not (isolated_home / ".ssh" / "known_hosts").exists()


async def test_changed_key_refuses_without_asking(own_sshd, agent_socket, tmp_path):
    old_known_hosts = tmp_path / "known_hosts"
    shutil.copy(own_sshd.known_hosts_path, old_known_hosts)
    old_fp = keygen_fingerprint(f"{own_sshd.host_key}.pub")
    own_sshd.restart_with_new_host_key()
    new_fp = keygen_fingerprint(f"{own_sshd.host_key}.pub")
    assert old_fp != new_fp

    before = old_known_hosts.read_text()
    with pytest.raises(HostKeyChanged) as info:
        await SshTunnel(
            ssh_profile(own_sshd, agent_socket), known_hosts_path=old_known_hosts, confirm_host_key=never_ask
        ).open()
    err = info.value
    assert err.offered == new_fp and err.expected == [old_fp]
    assert "man-in-the-middle" in err.message and "ssh-keygen -R" in err.message
    assert old_known_hosts.read_text() == before  # nothing was "fixed" behind the user's back


async def test_key_for_another_port_is_not_trusted_here(sshd_server, agent_socket, tmp_path):
    """A `host` (port 22) entry with another key must not count as a changed key for
    `[host]:port`, and must not make the key trusted either: the user is asked."""
    known_hosts = tmp_path / "known_hosts"
    other_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHX7Yg0k3kW5b7nOQZ0vYk1oDqS5F0pn0l2F8wYy9Xr5"
    known_hosts.write_text(f"{sshd_server.host} {other_key}\n")
    assert hostkeys.lookup(known_hosts, sshd_server.host, port=22).is_known  # the line itself is valid
    asker = Asker(False)
    with pytest.raises(HostKeyRejected):
        await SshTunnel(
            ssh_profile(sshd_server, agent_socket), known_hosts_path=known_hosts, confirm_host_key=asker
        ).open()
    assert len(asker.asked) == 1
