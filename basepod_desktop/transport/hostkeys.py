"""known_hosts lookups and updates with OpenSSH semantics.

We read the same file format (plain and hashed `|1|` entries, `@cert-authority`,
`@revoked`, `[host]:port` for non-22 ports) and print fingerprints the way
`ssh-keygen -lf` does, so what the user sees in Basepod can be compared 1:1 with what
the server administrator sees.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import asyncssh

log = logging.getLogger(__name__)


def default_known_hosts_path() -> Path:
    """~/.ssh/known_hosts, shared with the user's `ssh` (expanded at call time)."""
    return Path.home() / ".ssh" / "known_hosts"


def host_pattern(host: str, port: Optional[int]) -> str:
    """The known_hosts name for a host: `host` on port 22, `[host]:port` otherwise."""
    return host if not port or port == 22 else f"[{host}]:{port}"


def fingerprint_sha256(key: asyncssh.SSHKey) -> str:
    """`SHA256:<base64 without padding>` of the public key blob, as OpenSSH prints it."""
    digest = hashlib.sha256(key.public_data).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def key_type(key: asyncssh.SSHKey) -> str:
    """The SSH algorithm name, e.g. `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`."""
    return key.get_algorithm()


def openssh_line(host: str, port: Optional[int], key: asyncssh.SSHKey) -> str:
    """One known_hosts line (no comment, no newline), like ssh writes with HashKnownHosts=no."""
    blob = key.export_public_key("openssh").decode("ascii").split()
    return f"{host_pattern(host, port)} {blob[0]} {blob[1]}"


@dataclass(frozen=True)
class HostKeyInfo:
    """What a "do you trust this server?" prompt shows."""

    host: str
    port: int
    key_type: str
    fingerprint: str
    known_hosts_path: str
    key: Optional[asyncssh.SSHKey] = field(default=None, compare=False, repr=False)


@dataclass
class KnownHostsMatch:
    """Entries of a known_hosts file that apply to one host/address/port."""

    host_keys: list = field(default_factory=list)
    ca_keys: list = field(default_factory=list)
    revoked_keys: list = field(default_factory=list)
    x509_certs: list = field(default_factory=list)
    revoked_certs: list = field(default_factory=list)
    x509_subjects: list = field(default_factory=list)
    revoked_subjects: list = field(default_factory=list)

    @property
    def is_known(self) -> bool:
        """True when *something* vouches for this host, so an unlisted key means "changed"."""
        return bool(self.host_keys or self.ca_keys or self.x509_certs or self.x509_subjects)

    def as_asyncssh(self) -> tuple:
        """The 7-tuple asyncssh accepts from a `known_hosts` callable."""
        return (
            self.host_keys,
            self.ca_keys,
            self.revoked_keys,
            self.x509_certs,
            self.revoked_certs,
            self.x509_subjects,
            self.revoked_subjects,
        )


def load_known_hosts(path: str | os.PathLike) -> asyncssh.SSHKnownHosts:
    """Parse a known_hosts file, skipping lines asyncssh cannot read (as ssh does).

    asyncssh rejects the whole file on one malformed line; one stray line should not
    make every server look unknown (or worse, stop the app from connecting anywhere).
    """
    known = asyncssh.SSHKnownHosts()
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return known
    for lineno, line in enumerate(text.splitlines(), 1):
        try:
            known.load(line)
        except (ValueError, asyncssh.KeyImportError) as exc:
            log.warning("%s:%d: ignoring unreadable known_hosts line (%s)", path, lineno, exc)
    return known


def lookup(path: str | os.PathLike, host: str, addr: str = "", port: Optional[int] = None) -> KnownHostsMatch:
    """Entries for `host` (or its address) on `port` (None or 22 = default port).

    Unlike asyncssh's public `match()`, entries for port 22 are not reused for another
    port: OpenSSH keeps `[host]:2222` separate, and so must we, or a second sshd on the
    same machine would be reported as a man-in-the-middle.
    """
    known = load_known_hosts(path)
    port = None if port == 22 else port
    strict = getattr(known, "_match", None)  # private in asyncssh, stable since 2.x
    result = strict(host, addr, port) if strict else known.match(host, addr, port)
    # A line can match both by name and by address (host "127.0.0.1"): list it once.
    return KnownHostsMatch(*[list(dict.fromkeys(part)) for part in result])


def append_known_host(path: str | os.PathLike, host: str, port: Optional[int], key: asyncssh.SSHKey) -> None:
    """Append a confirmed key; creates the file 0600 (and a missing parent 0700)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    line = openssh_line(host, port, key) + "\n"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = "\n" + line  # a hand-edited file may lack the final newline
        os.write(fd, line.encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def describe(host: str, port: int, key: asyncssh.SSHKey, known_hosts_path: str | os.PathLike) -> HostKeyInfo:
    return HostKeyInfo(
        host=host,
        port=port,
        key_type=key_type(key),
        fingerprint=fingerprint_sha256(key),
        known_hosts_path=str(known_hosts_path),
        key=key,
    )


def fingerprints(keys: Sequence[asyncssh.SSHKey]) -> list[str]:
    return [fingerprint_sha256(k) for k in keys]
