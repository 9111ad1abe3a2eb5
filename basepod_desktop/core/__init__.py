"""Qt-free domain code shared by the desktop app and the `bp` CLI."""

from .credentials import TokenStore
from .paths import app_known_hosts, config_dir, data_dir, local_agent_socket
from .profiles import (
    DEFAULT_REMOTE_SOCKET,
    ProfileError,
    ProfileExists,
    ProfileNotFound,
    ProfileStore,
    ProfileStoreCorrupt,
    ServerProfile,
)

__all__ = [
    "DEFAULT_REMOTE_SOCKET",
    "ProfileError",
    "ProfileExists",
    "ProfileNotFound",
    "ProfileStore",
    "ProfileStoreCorrupt",
    "ServerProfile",
    "TokenStore",
    "app_known_hosts",
    "config_dir",
    "data_dir",
    "local_agent_socket",
]
