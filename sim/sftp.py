"""A loopback SFTP server (asyncssh) with its own host key, for tests and the demo.

It runs in a background thread with its own event loop, so synchronous clients (paramiko) and
async tests can both use it. Every user is chrooted to `root`.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import asyncssh


class _Auth(asyncssh.SSHServer):
    def __init__(self, passwords: dict[str, str]) -> None:
        self._passwords = passwords

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return bool(self._passwords)

    def validate_password(self, username: str, password: str) -> bool:
        return self._passwords.get(username) == password


class SftpServer:
    """Start with `start()`, stop with `stop()`; `known_hosts_line` and `fingerprint` pin its host key."""

    def __init__(self, root: Path, *, passwords: dict[str, str] | None = None, authorized_keys: str | None = None,
                 host_key: asyncssh.SSHKey | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.root = root
        self.host = host
        self.port = port
        self.passwords = passwords or {}
        self.authorized_keys = authorized_keys
        self.host_key = host_key or asyncssh.generate_private_key("ssh-ed25519")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncssh.SSHAcceptor | None = None

    @property
    def known_hosts_line(self) -> str:
        public = self.host_key.export_public_key("openssh").decode().split()
        return f"[{self.host}]:{self.port} {public[0]} {public[1]}"

    @property
    def fingerprint(self) -> str:
        return self.host_key.get_fingerprint("sha256")

    def start(self, timeout: float = 10.0) -> SftpServer:
        self.root.mkdir(parents=True, exist_ok=True)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sim-sftp", daemon=True)
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        self._server = future.result(timeout)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        loop, server = self._loop, self._server
        if loop is None:
            return
        if server is not None:
            asyncio.run_coroutine_threadsafe(self._close(server), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout)
        loop.close()
        self._loop = self._thread = self._server = None

    def __enter__(self) -> SftpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _listen(self) -> asyncssh.SSHAcceptor:
        root = str(self.root).encode()
        authorized = asyncssh.import_authorized_keys(self.authorized_keys) if self.authorized_keys else None
        return await asyncssh.listen(
            self.host, self.port, server_host_keys=[self.host_key], server_factory=lambda: _Auth(self.passwords),
            authorized_client_keys=authorized, sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=root),
            allow_scp=False, process_factory=None,
        )

    @staticmethod
    async def _close(server: asyncssh.SSHAcceptor) -> None:
        server.close()
        await server.wait_closed()
