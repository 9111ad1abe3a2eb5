"""SshTunnel against a real OpenSSH server: forwarding, errors, dropped connections."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess

import httpx
import pytest
from harness.system import free_port
from tunnel_support import AGENT_BODY, ssh_profile

from basepod_desktop.core.profiles import ServerProfile
from basepod_desktop.transport import (
    AuthenticationFailed,
    HostUnreachable,
    LocalAgentNotRunning,
    RemoteSocketMissing,
    SshTunnel,
    open_target,
)


async def get_via(socket_path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(uds=socket_path), timeout=10) as client:
        return await client.get("http://agent/api/version")


async def test_request_reaches_agent_through_tunnel(sshd_server, agent_socket):
    tunnel = SshTunnel(ssh_profile(sshd_server, agent_socket), known_hosts_path=sshd_server.known_hosts_path)
    assert not tunnel.is_alive
    local = await tunnel.open()
    try:
        assert tunnel.is_alive
        assert local != agent_socket
        assert stat.S_IMODE(os.stat(os.path.dirname(local)).st_mode) == 0o700
        response = await get_via(local)
        assert response.status_code == 200 and response.content == AGENT_BODY
        assert await tunnel.open() == local  # already open: same tunnel
    finally:
        await tunnel.aclose()
    assert not tunnel.is_alive
    assert not os.path.exists(os.path.dirname(local))


async def test_ssh_config_supplies_host_port_user_and_key(sshd_server, agent_socket, isolated_home):
    ssh_dir = isolated_home / ".ssh"
    ssh_dir.mkdir(mode=0o700)
    (ssh_dir / "config").write_text(
        f"Host box\n  HostName {sshd_server.host}\n  Port {sshd_server.port}\n"
        f"  User {sshd_server.user}\n  IdentityFile {sshd_server.client_key}\n"
    )
    (ssh_dir / "known_hosts").write_text(sshd_server.known_hosts_line() + "\n")
    profile = ServerProfile(name="box", host="box", socket=agent_socket)  # port 22, no user, no key
    tunnel = SshTunnel(profile)  # default known_hosts: ~/.ssh/known_hosts of the fake HOME
    try:
        assert (await get_via(await tunnel.open())).status_code == 200
    finally:
        await tunnel.aclose()


async def test_wrong_client_key_is_authentication_failed(sshd_server, agent_socket, tmp_path):
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    profile = ssh_profile(sshd_server, agent_socket, key_path=str(other))
    with pytest.raises(AuthenticationFailed) as info:
        await SshTunnel(profile, known_hosts_path=sshd_server.known_hosts_path).open()
    assert "ssh-agent" in info.value.message

    missing = ssh_profile(sshd_server, agent_socket, key_path=str(tmp_path / "nope"))
    with pytest.raises(AuthenticationFailed, match="does not exist"):
        await SshTunnel(missing, known_hosts_path=sshd_server.known_hosts_path).open()


async def test_closed_port_is_host_unreachable(sshd_server, agent_socket):
    port = free_port()
    profile = ssh_profile(sshd_server, agent_socket, port=port)
    with pytest.raises(HostUnreachable) as info:
        await SshTunnel(profile, known_hosts_path=sshd_server.known_hosts_path, connect_timeout=5).open()
    assert f"127.0.0.1:{port}" in info.value.message and "refused" in info.value.message


async def test_missing_remote_socket(sshd_server, tmp_path):
    profile = ssh_profile(sshd_server, "/run/basepod-test-nowhere/agent.sock")
    tunnel = SshTunnel(profile, known_hosts_path=sshd_server.known_hosts_path)
    with pytest.raises(RemoteSocketMissing) as info:
        await tunnel.open()
    assert "/run/basepod-test-nowhere/agent.sock" in info.value.message
    assert "not installed or not running" in info.value.message
    assert not tunnel.is_alive


async def test_dropped_connection_ends_wait_closed_and_reopen_works(own_sshd, agent_socket):
    tunnel = SshTunnel(ssh_profile(own_sshd, agent_socket), known_hosts_path=own_sshd.known_hosts_path)
    local = await tunnel.open()
    try:
        waiter = asyncio.create_task(tunnel.wait_closed())
        await asyncio.sleep(0.2)
        assert not waiter.done()
        await asyncio.to_thread(own_sshd.drop_connections)
        await asyncio.wait_for(waiter, timeout=10)
        assert not tunnel.is_alive
        # What the desktop's reconnect loop does next: open again, same local path.
        assert await tunnel.open() == local
        assert (await get_via(local)).status_code == 200
    finally:
        await tunnel.aclose()


async def test_open_target_local_and_ssh(sshd_server, agent_socket, tmp_path):
    local = await open_target(ServerProfile.local(socket=agent_socket))
    assert local.socket_path == agent_socket
    assert (await get_via(local.socket_path)).status_code == 200
    await local.aclose()
    await asyncio.wait_for(local.wait_closed(), 1)

    with pytest.raises(LocalAgentNotRunning, match="local agent is not running at"):
        await open_target(ServerProfile.local(socket=str(tmp_path / "absent.sock")))

    remote = await open_target(
        ssh_profile(sshd_server, agent_socket), known_hosts_path=sshd_server.known_hosts_path
    )
    try:
        assert (await get_via(remote.socket_path)).status_code == 200
    finally:
        await remote.aclose()
