"""The SFTP transport (paramiko): a pinned host key, atomic writes, moves, timeouts and reconnects.

`SftpClient` is synchronous; `SftpSession` runs it in a thread, one connection per partner,
reconnecting and retrying with backoff, and turns failures into Transient / Permanent errors.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import posixpath
import socket
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import paramiko

from hub.errors import PermanentError, TransientError

T = TypeVar("T")


class HostKeyRefused(PermanentError):
    """The server's host key is not the pinned one: never accepted, whatever it is."""


class AuthenticationRefused(PermanentError):
    pass


@dataclass(frozen=True, slots=True)
class SftpSettings:
    host: str
    port: int
    username: str
    password: str | None = None
    private_key: str | None = None  # PEM / OpenSSH text
    passphrase: str | None = None
    known_hosts: str | None = None  # one or more known_hosts lines
    fingerprint: str | None = None  # SHA256:base64, as ssh-keygen -l prints it
    connect_timeout: float = 10.0
    operation_timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class RemoteFile:
    name: str
    size: int
    mtime: int


class SftpClient:
    """One paramiko SFTP connection; every method may raise OSError / paramiko.SSHException."""

    def __init__(self, settings: SftpSettings) -> None:
        self.settings = settings
        self._transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None

    @property
    def connected(self) -> bool:
        return self._sftp is not None and self._transport is not None and self._transport.is_active()

    def connect(self) -> None:
        s = self.settings
        sock = socket.create_connection((s.host, s.port), timeout=s.connect_timeout)
        transport = paramiko.Transport(sock)
        try:
            transport.banner_timeout = s.connect_timeout
            transport.start_client(timeout=s.connect_timeout)
            # The key is checked before any credential is sent, so an impostor never sees one.
            verify_host_key(transport.get_remote_server_key(), s)
            self._authenticate(transport)
            sftp = paramiko.SFTPClient.from_transport(transport)
            if sftp is None:
                raise paramiko.SSHException("the server refused the sftp subsystem")
            sftp.get_channel().settimeout(s.operation_timeout)
        except BaseException:
            transport.close()
            raise
        self._transport, self._sftp = transport, sftp

    def _authenticate(self, transport: paramiko.Transport) -> None:
        s = self.settings
        try:
            if s.private_key:
                key = _load_key(s.private_key, s.passphrase)
                transport.auth_publickey(s.username, key)
            elif s.password is not None:
                transport.auth_password(s.username, s.password)
            else:
                raise AuthenticationRefused("no password or private key configured")
        except paramiko.AuthenticationException as exc:
            raise AuthenticationRefused(f"authenticating as {s.username!r} on {s.host}:{s.port}: {exc}") from None

    def close(self) -> None:
        if self._sftp is not None:
            self._sftp.close()
        if self._transport is not None:
            self._transport.close()
        self._sftp = self._transport = None

    @property
    def sftp(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            raise ConnectionError("not connected")
        return self._sftp

    def list_files(self, folder: str) -> list[RemoteFile]:
        return [RemoteFile(a.filename, a.st_size or 0, a.st_mtime or 0) for a in self.sftp.listdir_attr(folder)
                if a.st_mode is not None and stat.S_ISREG(a.st_mode)]

    def read(self, path: str) -> bytes:
        with self.sftp.open(path, "rb") as handle:
            handle.prefetch()
            return handle.read()

    def write_atomic(self, folder: str, name: str, data: bytes, temp_suffix: str = ".part") -> str:
        """Write under a temporary name, then rename, so a reader never sees half a file."""
        final = posixpath.join(folder, name)
        temp = posixpath.join(folder, f".{name}{temp_suffix}")
        with self.sftp.open(temp, "wb") as handle:
            handle.write(data)
        self._replace(temp, final)
        return final

    def move(self, path: str, folder: str) -> str:
        """Move `path` into `folder`, keeping its name unless a file of that name is already there."""
        name = posixpath.basename(path)
        target = posixpath.join(folder, name)
        if self.exists(target):
            stem = hashlib.sha256(path.encode() + str(self.sftp.stat(path).st_mtime).encode()).hexdigest()[:8]
            target = posixpath.join(folder, f"{name}.{stem}")
        self._replace(path, target)
        return target

    def exists(self, path: str) -> bool:
        try:
            self.sftp.stat(path)
        except FileNotFoundError:
            return False
        return True

    def ensure_folder(self, folder: str) -> None:
        if not self.exists(folder):
            self.sftp.mkdir(folder)

    def _replace(self, source: str, target: str) -> None:
        try:
            self.sftp.posix_rename(source, target)
        except OSError:
            # Servers without the posix-rename extension refuse to rename over an existing file.
            if self.exists(target):
                self.sftp.remove(target)
            self.sftp.rename(source, target)


def verify_host_key(key: paramiko.PKey, settings: SftpSettings) -> None:
    """Raise HostKeyRefused unless `key` is the pinned key (known_hosts entry or SHA256 fingerprint)."""
    where = f"{settings.host}:{settings.port}"
    if settings.fingerprint:
        seen = fingerprint(key)
        if hmac.compare_digest(seen, settings.fingerprint.strip()):
            return
        raise HostKeyRefused(f"host key of {where} is {seen}, not the pinned {settings.fingerprint.strip()}; "
                             "refusing to connect (update the pin only if the partner announced a new key)")
    if settings.known_hosts:
        names = {settings.host if settings.port == 22 else f"[{settings.host}]:{settings.port}"}
        pinned = [entry for entry in _entries(settings.known_hosts) if _matches(entry, names)]
        if any(e.key.get_name() == key.get_name() and e.key.asbytes() == key.asbytes() for e in pinned):
            return
        if pinned:
            raise HostKeyRefused(f"host key of {where} ({key.get_name()} {fingerprint(key)}) does not match its "
                                 "known_hosts entry: the key changed; refusing to connect")
        raise HostKeyRefused(f"host {where} has no known_hosts entry (its key is {key.get_name()} "
                             f"{fingerprint(key)}); unknown host keys are never accepted")
    raise HostKeyRefused(f"no host key pinned for {where}: set host_key or host_key_fingerprint")


def fingerprint(key: paramiko.PKey) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def _entries(text: str) -> list[paramiko.hostkeys.HostKeyEntry]:
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            entry = paramiko.hostkeys.HostKeyEntry.from_line(line)
            if entry is not None:
                entries.append(entry)
    return entries


def _matches(entry: paramiko.hostkeys.HostKeyEntry, names: set[str]) -> bool:
    for pattern in entry.hostnames:
        if pattern.startswith("|1|"):
            salt = pattern.split("|")[2]
            if any(paramiko.HostKeys.hash_host(name, salt) == pattern for name in names):
                return True
        elif pattern in names:
            return True
    return False


def _load_key(text: str, passphrase: str | None) -> paramiko.PKey:
    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key(io.StringIO(text), password=passphrase)
        except (paramiko.SSHException, ValueError):
            continue
    raise AuthenticationRefused("the private key is not an Ed25519, ECDSA or RSA key paramiko can read")


_RETRYABLE = (OSError, EOFError, TimeoutError, paramiko.SSHException)


class SftpSession:
    """One reused connection per partner, used one call at a time; reconnects and retries with backoff."""

    def __init__(self, settings: SftpSettings, *, attempts: int = 3, backoff: float = 0.5) -> None:
        self.settings = settings
        self.attempts = attempts
        self.backoff = backoff
        self._client = SftpClient(settings)
        self._lock = asyncio.Lock()

    async def call(self, what: str, fn: Callable[[SftpClient], T]) -> T:
        """Run `fn(client)` in a thread; TransientError after the last failed attempt, naming `what`."""
        async with self._lock:
            for attempt in range(1, self.attempts + 1):
                try:
                    return await asyncio.wait_for(asyncio.to_thread(self._run, fn), self._budget())
                except PermanentError:
                    raise
                except _RETRYABLE as exc:
                    await asyncio.to_thread(self._client.close)
                    if attempt == self.attempts:
                        s = self.settings
                        raise TransientError(f"{what} on sftp://{s.host}:{s.port}: "
                                             f"{type(exc).__name__}: {exc or 'timed out'}") from exc
                    await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    async def close(self) -> None:
        async with self._lock:
            await asyncio.to_thread(self._client.close)

    def _run(self, fn: Callable[[SftpClient], T]) -> T:
        if not self._client.connected:
            self._client.close()
            self._client.connect()
        return fn(self._client)

    def _budget(self) -> float:
        return self.settings.connect_timeout + self.settings.operation_timeout
