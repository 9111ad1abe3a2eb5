"""Which server a command talks to, and opening a session to it."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from basepod_desktop.core import paths
from basepod_desktop.core.credentials import TokenStore
from basepod_desktop.core.profiles import ProfileNotFound, ProfileStore, ServerProfile
from basepod_desktop.core.session import AgentSession, connect
from basepod_desktop.transport import HostKeyInfo


class NoServer(Exception):
    """No server chosen and none configured."""


def resolve_profile(args: argparse.Namespace, store: ProfileStore) -> ServerProfile:
    """``--local`` > ``--server`` > the default server > a server named ``local``."""
    if args.local:
        return ServerProfile.local(socket=args.socket or os.environ.get("BASEPOD_LOCAL_SOCKET")
                                   or paths.local_agent_socket())
    name = args.server or os.environ.get("BASEPOD_SERVER") or store.get_default()
    if name:
        return store.get(name)
    try:
        return store.get("local")
    except ProfileNotFound:
        raise NoServer(
            "no server configured: add one with `bp server add NAME --host HOST`, "
            "or use --local for the agent on this computer"
        ) from None


async def ask_host_key(info: HostKeyInfo) -> bool:
    """Like OpenSSH: show the fingerprint and ask; never trust silently without a terminal."""
    if not sys.stdin.isatty():
        print(
            f"bp: the host key of {info.host}:{info.port} is not known "
            f"({info.key_type} {info.fingerprint}). Run bp in a terminal to confirm it, or add it "
            f"to {info.known_hosts_path}.",
            file=sys.stderr,
        )
        return False
    print(f"The authenticity of host '{info.host}:{info.port}' can't be established.", file=sys.stderr)
    print(f"{info.key_type} key fingerprint is {info.fingerprint}.", file=sys.stderr)
    answer = await asyncio.to_thread(input, "Are you sure you want to continue connecting (yes/no)? ")
    return answer.strip().lower() in ("y", "yes")


class Context:
    """What every command gets: stores, output mode, and a way to open a session."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.json = args.json
        self.profiles = ProfileStore()
        self.tokens = TokenStore()

    def profile(self) -> ServerProfile:
        return resolve_profile(self.args, self.profiles)

    def tunnel_kwargs(self) -> dict:
        """How SSH is opened (host-key prompt, known_hosts file), for tunnels and the installer alike."""
        kwargs = {"confirm_host_key": ask_host_key}
        if self.args.known_hosts:
            kwargs["known_hosts_path"] = self.args.known_hosts
        return kwargs

    async def session(self) -> AgentSession:
        return await connect(self.profile(), self.tokens, **self.tunnel_kwargs())
