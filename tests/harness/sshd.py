"""A throwaway OpenSSH server on 127.0.0.1 with its own host and client keys.

It exercises the real SSH path (tunnels to the agent's Unix socket, host key checks,
dropped connections) without touching ~/.ssh or the machine's sshd: every key, config,
authorized_keys and known_hosts file lives in this server's own directory.
"""

from __future__ import annotations

import getpass
import os
import signal
import socket
import subprocess
from pathlib import Path

from .system import descendant_pids, free_port, kill_pids, tail, wait_until

SSHD = "/usr/sbin/sshd"


class SshServer:
    host = "127.0.0.1"

    def __init__(self, base_dir: str | os.PathLike[str], port: int | None = None) -> None:
        self.dir = Path(base_dir).resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.user = getpass.getuser()
        self.host_key = self.dir / "ssh_host_ed25519_key"
        self.client_key = self.dir / "client_ed25519"
        self.authorized_keys = self.dir / "authorized_keys"
        self.known_hosts_path = self.dir / "known_hosts"
        self.config_path = self.dir / "sshd_config"
        self.pid_file = self.dir / "sshd.pid"
        self.log_path = self.dir / "sshd.log"
        self._process: subprocess.Popen[bytes] | None = None
        _keygen(self.client_key, "basepod-test-client")
        self.authorized_keys.write_text(Path(f"{self.client_key}.pub").read_text())
        self._new_host_key()
        self.trust_current_host_key()

    @property
    def host_public_key(self) -> str:
        """The host key as "ssh-ed25519 AAAA..." (no comment)."""
        key_type, blob = Path(f"{self.host_key}.pub").read_text().split()[:2]
        return f"{key_type} {blob}"

    def known_hosts_line(self) -> str:
        return f"[{self.host}]:{self.port} {self.host_public_key}"

    def trust_current_host_key(self) -> None:
        """(Re)write known_hosts_path for the current host key."""
        self.known_hosts_path.write_text(self.known_hosts_line() + "\n")

    def ssh_args(self, *extra: str, known_hosts: str | os.PathLike[str] | None = None) -> list[str]:
        """An OpenSSH client command line for this server that reads nothing from ~/.ssh.

        Append the remote command (or -N -L ...) yourself.
        """
        return [
            "ssh", "-F", "none",
            "-i", str(self.client_key),
            "-p", str(self.port),
            "-o", "IdentitiesOnly=yes",
            "-o", f"UserKnownHostsFile={known_hosts or self.known_hosts_path}",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=10",
            *extra,
            f"{self.user}@{self.host}",
        ]

    def start(self) -> "SshServer":
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privilege separation dir
        self._write_config()
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(self.config_path)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until(self._answers_banner, timeout=15, what=f"sshd on port {self.port}")
        except Exception as exc:
            self.stop()
            raise RuntimeError(f"sshd did not start: {exc}\n{tail(self.log_path)}") from exc
        return self

    def _answers_banner(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(f"sshd exited with {self._process.returncode}")
        with socket.create_connection((self.host, self.port), timeout=2) as sock:
            return sock.recv(64).startswith(b"SSH-2.0-")

    def _write_config(self) -> None:
        self.config_path.write_text(
            f"Port {self.port}\n"
            f"ListenAddress {self.host}\n"
            f"HostKey {self.host_key}\n"
            f"AuthorizedKeysFile {self.authorized_keys}\n"
            f"PidFile {self.pid_file}\n"
            "PermitRootLogin prohibit-password\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            "StrictModes no\n"
            "AllowStreamLocalForwarding yes\n"
            "AllowTcpForwarding yes\n"
            "StreamLocalBindUnlink yes\n"
            "LogLevel VERBOSE\n"
            # The agent installer uploads its wheel over SFTP (in-process: no sftp-server binary).
            "Subsystem sftp internal-sftp\n"
        )

    def _new_host_key(self) -> None:
        for path in (self.host_key, Path(f"{self.host_key}.pub")):
            path.unlink(missing_ok=True)
        _keygen(self.host_key, "basepod-test-host")

    def drop_connections(self) -> None:
        """Kill every per-connection sshd (and its session) but keep the listener.

        This is what a network blip looks like to a client: established sessions and
        tunnels die, new connections succeed.
        """
        if self._process is None:
            raise RuntimeError("sshd is not running")
        doomed = descendant_pids(self._process.pid)
        kill_pids(doomed)
        wait_until(lambda: not any(_is_live(pid) for pid in doomed),
                   timeout=5, what="dropped sshd connections to exit")

    def restart_with_new_host_key(self) -> None:
        """Restart on the same port with a fresh host key.

        known_hosts_path keeps the old key on purpose, so a client using it must refuse;
        call trust_current_host_key() to accept the new one.
        """
        self.stop()
        self._new_host_key()
        self.start()

    def stop(self) -> None:
        if self._process is None:
            return
        pid = self._process.pid
        leftovers = descendant_pids(pid)
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)
        kill_pids(leftovers + descendant_pids(pid))
        self._process = None


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True, capture_output=True,
    )


def _is_live(pid: int) -> bool:
    """False for zombies: a killed child stays a zombie until its parent reaps it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False
