"""The hub's TOML configuration, validated by pydantic; errors name the file, the key and what was expected."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hub import otel
from hub.reconcile import ReconcileSettings

ENV_NATS_URL = "HUB_NATS_URL"


class ConfigError(ValueError):
    pass


class NatsTls(BaseModel):
    """TLS towards NATS; relative paths resolve against the config file's folder."""

    model_config = ConfigDict(extra="forbid")

    ca_file: str = Field(description="CA bundle the server's certificate must chain to (and, with "
                                     "verify_clients, the client certificates).")
    cert_file: str | None = Field(default=None, description="Client certificate, for servers that verify clients.")
    key_file: str | None = Field(default=None, description="Private key of cert_file.")
    server_name: str | None = Field(default=None, description="Name to check the server certificate against "
                                                              "(default: the host in the URL).")
    server_cert_file: str | None = Field(default=None, description="Embedded server only: its certificate.")
    server_key_file: str | None = Field(default=None, description="Embedded server only: its private key.")
    verify_clients: bool = Field(default=False, description="Embedded server only: require client certificates.")

    @model_validator(mode="after")
    def _pairs(self) -> NatsTls:
        for cert, key in (("cert_file", "key_file"), ("server_cert_file", "server_key_file")):
            if (getattr(self, cert) is None) != (getattr(self, key) is None):
                raise ValueError(f"{cert} and {key} go together: give both or neither")
        return self


class NatsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(default="", description="NATS URL(s), comma separated; empty starts an embedded nats-server.")
    user: str | None = Field(default=None, description="User name; needs password.")
    password: str | None = Field(default=None, description="env:NAME or file:/path.")
    token: str | None = Field(default=None, description="env:NAME or file:/path.")
    nkey_seed: str | None = Field(default=None, description="NKey user seed (SU...): env:NAME or file:/path.")
    tls: NatsTls | None = Field(default=None, description="TLS to NATS; the embedded server serves TLS too.")
    replicas: int = Field(default=1, ge=1, le=5, description="Stream replicas (3 on a cluster).")
    port: int = Field(default=0, ge=0, le=65535, description="Embedded server port; 0 picks a free one.")

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> NatsSettings:
        if (self.user is None) != (self.password is None):
            raise ValueError("user and password go together: give both or neither")
        ways = [name for name, value in (("user", self.user), ("token", self.token), ("nkey_seed", self.nkey_seed))
                if value is not None]
        if len(ways) > 1:
            raise ValueError(f"give one way to authenticate, not {' and '.join(ways)}")
        return self


class HubSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "hub"
    data_dir: str = Field(default=".hub", description="Embedded server storage and run files, beside the config.")
    partitions: int = Field(default=4, ge=1, le=256, description="EVENTS partitions; per-item order holds within one.")
    batch_size: int = Field(default=256, ge=1, le=5000, description="Events the pipeline pulls at once.")
    dedupe_hours: float = Field(default=24.0, gt=0, description="How long an idempotency key is remembered.")
    drain_seconds: float = Field(default=20.0, gt=0, description="Time allowed for in-flight work at shutdown.")


class RouteConfig(BaseModel):
    """A plain forwarding route: event types matching any glob go to the named targets or roles."""

    model_config = ConfigDict(extra="forbid")

    name: str
    match: list[str] = Field(min_length=1, description="Event type globs, e.g. stock.* or *.")
    targets: list[str] = Field(default_factory=list, description="Connector instance names.")
    roles: list[str] = Field(default_factory=list, description="Roles bound to connectors in [roles].")

    @field_validator("match", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class StatusSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535, description="0 picks a free port.")
    token: str | None = Field(default=None, description="Required when bound beyond loopback: env:NAME or file:/path.")


class TracingSettings(BaseModel):
    """OpenTelemetry spans per event and stage; any exporter but "none" needs the `otel` extra."""

    model_config = ConfigDict(extra="forbid")

    exporter: Literal["none", "console", "otlp"] = Field(
        default="none", description="none: no spans; console: print them; otlp: send them over OTLP/HTTP.")
    endpoint: str | None = Field(default=None, description="otlp only: traces URL, e.g. "
                                 "http://127.0.0.1:4318/v1/traces (default: the OTEL_EXPORTER_OTLP_* environment).")
    service_name: str = Field(default="", description="service.name on the spans (default: hub.name).")

    @field_validator("endpoint")
    @classmethod
    def _otlp_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        if info.data.get("exporter") != "otlp":
            raise ValueError('only the "otlp" exporter takes an endpoint')
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value


class HubConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hub: HubSettings = Field(default_factory=HubSettings)
    nats: NatsSettings = Field(default_factory=NatsSettings)
    connectors: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Instances by name.")
    routes: list[RouteConfig] = Field(default_factory=list)
    workflows: list[str] = Field(default_factory=list, description="Workflow routes from routes/ to enable.")
    roles: dict[str, list[str]] = Field(default_factory=dict, description="Role -> connector instance names.")
    hooks: dict[str, Any] = Field(default_factory=dict)
    schemas: dict[str, Any] = Field(default_factory=dict)
    status: StatusSettings = Field(default_factory=StatusSettings)
    reconcile: ReconcileSettings = Field(default_factory=ReconcileSettings)
    tracing: TracingSettings = Field(default_factory=TracingSettings)

    path: Path | None = Field(default=None, exclude=True)

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def data_dir(self, override: str | Path | None = None) -> Path:
        raw = Path(override) if override else Path(self.hub.data_dir)
        return (raw if raw.is_absolute() else self.base_dir / raw).resolve()

    def nats_url(self, override: str | None = None) -> str:
        return override or os.environ.get(ENV_NATS_URL, "") or self.nats.url


def load_config(path: str | Path) -> HubConfig:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(raw, path)


def parse_config(raw: dict[str, Any], path: Path | None = None) -> HubConfig:
    try:
        config = HubConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc, path)) from None
    config.path = path.resolve() if path else None
    _check_references(config, path)
    _check_tracing(config, path)
    return config


def describe_errors(exc: ValidationError, path: Path | str | None, prefix: str = "") -> str:
    where = str(path) if path else "config"
    lines = []
    for err in exc.errors():
        parts = (*(prefix.split(".") if prefix else ()), *err["loc"])
        key = ".".join(str(p) for p in parts if p != "")
        got = err.get("input")
        shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
        lines.append(f"{where}: {key or '<top>'}: {err['msg']}{shown}")
    return "\n".join(lines)


def _check_tracing(config: HubConfig, path: Path | None) -> None:
    exporter = config.tracing.exporter
    missing = otel.missing_modules(exporter)
    if missing:
        raise ConfigError(f"{path or 'config'}: tracing.exporter: {exporter!r} needs {', '.join(missing)}, "
                          f"which is not installed: {otel.INSTALL_HINT}")


def _check_references(config: HubConfig, path: Path | None) -> None:
    where = str(path) if path else "config"
    names = set(config.connectors)
    problems = []
    for i, route in enumerate(config.routes):
        problems += [f"{where}: routes[{i}].targets: no connector named {t!r}" for t in route.targets if t not in names]
    for role, targets in config.roles.items():
        problems += [f"{where}: roles.{role}: no connector named {t!r}" for t in targets if t not in names]
    for name, body in config.connectors.items():
        if "type" not in body:
            problems.append(f"{where}: connectors.{name}.type: field required (e.g. \"file.inbox\")")
    if problems:
        raise ConfigError("\n".join(problems))
