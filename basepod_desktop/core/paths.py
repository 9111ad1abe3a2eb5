"""Where Basepod keeps its files on this computer.

The config dir holds small, private things (server profiles, the token fallback file,
an app-specific known_hosts); the data dir holds the embedded "This computer" agent's
state. Both are created 0700 on demand because they may hold credentials, and both can
be redirected with environment variables so tests and portable installs never touch the
user's real home.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_DIR_NAME = "basepod"


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) with the leaf 0700 whatever the umask.

    An existing directory is left as it is: an env override may point at a directory
    the user shares on purpose, and the files we write in it are 0600 anyway.
    """
    try:
        path.mkdir(parents=True, mode=0o700)
    except FileExistsError:
        if not path.is_dir():
            raise
    else:
        os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask
    return path


def _xdg_base(env_name: str, fallback: str) -> Path:
    value = os.environ.get(env_name)
    # The XDG spec says relative values must be ignored.
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / fallback


def config_dir(create: bool = True) -> Path:
    """`$BASEPOD_CONFIG_DIR`, else `$XDG_CONFIG_HOME/basepod`, else `~/.config/basepod`."""
    override = os.environ.get("BASEPOD_CONFIG_DIR")
    path = Path(override).expanduser() if override else _xdg_base("XDG_CONFIG_HOME", ".config") / APP_DIR_NAME
    return ensure_private_dir(path) if create else path


def data_dir(create: bool = True) -> Path:
    """`$BASEPOD_DATA_DIR`, else `$XDG_DATA_HOME/basepod`, else `~/.local/share/basepod`.

    This is where the embedded local agent keeps its database, secrets key and socket.
    """
    override = os.environ.get("BASEPOD_DATA_DIR")
    path = Path(override).expanduser() if override else _xdg_base("XDG_DATA_HOME", ".local/share") / APP_DIR_NAME
    return ensure_private_dir(path) if create else path


def local_agent_socket(create: bool = True) -> Path:
    """Default socket path of the embedded local agent (inside the private data dir)."""
    return data_dir(create) / "agent.sock"


def app_known_hosts(create: bool = True) -> Path:
    """A Basepod-only known_hosts file, for users who prefer not to share ~/.ssh."""
    return config_dir(create) / "known_hosts"


def write_private_file(path: Path, data: bytes) -> None:
    """Atomically replace `path` with `data`, readable by the owner only.

    The temp file is created with O_EXCL and mode 0600 from the start (never chmod-ed
    afterwards), so the content is never visible with wider permissions, and
    os.replace means readers see either the old file or the new one, never half.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
