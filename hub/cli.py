"""The `hub` command: run the hub, publish and follow events, manage connectors and dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import re
import sys
import tomllib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

from hub import __version__

T = TypeVar("T")

_config_option = click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="HUB_CONFIG",
                              help="The hub's TOML config (also HUB_CONFIG).")
_nats_option = click.option("--nats-url", envvar="HUB_NATS_URL", help="NATS URL of the running hub (also HUB_NATS_URL).")
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def _run(coro: Awaitable[T]) -> T:
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except (RuntimeError, ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


async def _with_bus(config_path: str | None, nats_url: str | None, action: Callable[[Any], Awaitable[T]]) -> T:
    from hub.bus import connect_for_cli

    b = await connect_for_cli(config_path, nats_url)
    try:
        return await action(b)
    finally:
        await b.close()


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    if not rows:
        return "(none)"
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in columns)]
    lines += ["  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hub")
def cli() -> None:
    """Retail Inventory Hub: keeps inventory true across every system a retailer runs."""


@cli.command()
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The hub's TOML config.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Storage and run files (default .hub/ beside the config).")
@_nats_option
@click.option("--log-level", default="INFO", show_default=True, help="DEBUG, INFO, WARNING or ERROR.")
@click.option("--json-logs/--text-logs", default=None, help="Log format (default: JSON unless on a terminal).")
def up(config_path: str, data_dir: str | None, nats_url: str | None, log_level: str, json_logs: bool | None) -> None:
    """Run the hub: embedded nats-server unless a NATS URL is given, connectors, pipeline, delivery."""
    from hub import logs
    from hub.config import ConfigError, load_config
    from hub.natsserver import NatsServerNotFound
    from hub.runtime import Hub, run_until_signalled
    from hub.schemas import SchemaCompatibilityError

    logs.setup(log_level, json_logs)
    try:
        config = load_config(config_path)
        hub = Hub(config, data_dir=Path(data_dir).resolve() if data_dir else None, nats_url=nats_url)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        _use_uvloop()
        asyncio.run(run_until_signalled(hub))
    except (ConfigError, NatsServerNotFound, SchemaCompatibilityError, ConnectionError) as exc:
        raise click.ClickException(str(exc)) from None


def _use_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


# ---------------------------------------------------------------- events
@cli.group()
def events() -> None:
    """Canonical event types; publish and follow events."""


@events.command("types")
@_json_option
def events_types(as_json: bool) -> None:
    """List the canonical event types and their latest versions."""
    from canonical import EVENT_TYPES, latest_version
    from canonical.versions import versions_of

    rows = [{"type": t, "latest": latest_version(t), "versions": versions_of(t)} for t in EVENT_TYPES]
    click.echo(json.dumps(rows, indent=2) if as_json else _table(rows, ["type", "latest", "versions"]))


@events.command("example")
@click.argument("event_type")
def events_example(event_type: str) -> None:
    """Print one valid example event of EVENT_TYPE as JSON."""
    from canonical.examples import EXAMPLE_DATA, example_event

    if event_type not in EXAMPLE_DATA:
        raise click.ClickException(f"unknown event type {event_type!r}; see `hub events types`")
    click.echo(example_event(event_type).model_dump_json(indent=2))


@events.command("publish")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@_config_option
@_nats_option
def events_publish(file: str, config_path: str | None, nats_url: str | None) -> None:
    """Publish the events in FILE (JSON object, JSON list or NDJSON) to EVENTS."""
    from canonical import EventError, parse_event
    from hub.config import load_config
    from hub.ingest import publish_events

    raw = Path(file).read_bytes()
    try:
        if file.endswith(".ndjson"):
            items = [orjson.loads(line) for line in raw.splitlines() if line.strip()]
        else:
            body = orjson.loads(raw)
            items = body if isinstance(body, list) else [body]
    except orjson.JSONDecodeError as exc:
        raise click.ClickException(f"{file}: malformed JSON at byte {exc.pos}: {exc.msg}") from None
    parsed, errors = [], []
    for index, item in enumerate(items):
        try:
            parsed.append(parse_event(item))
        except EventError as exc:
            errors.append(f"{file}[{index}]: {exc}")
    for error in errors:
        click.echo(error, err=True)
    partitions = load_config(config_path).hub.partitions if config_path else 4

    async def action(b):
        return await publish_events(b, parsed, partitions=partitions, connector="cli")

    stored, duplicates = _run(_with_bus(config_path, nats_url, action))
    click.echo(f"published {stored}, duplicates {duplicates}, refused {len(errors)}")
    if errors:
        sys.exit(1)


@events.command("tail")
@click.option("--type", "event_type", help="Only this event type.")
@click.option("--stream", type=click.Choice(["EVENTS", "OUTBOX", "DLQ", "AUDIT"]), default="EVENTS", show_default=True)
@click.option("--last", default=10, show_default=True, help="Show this many recent messages first.")
@click.option("--follow/--no-follow", default=True, help="Keep following new events.")
@_config_option
@_nats_option
def events_tail(event_type: str | None, stream: str, last: int, follow: bool, config_path: str | None,
                nats_url: str | None) -> None:
    """Follow a stream, printing one JSON line per message."""
    from hub.tail import tail

    async def action(b):
        await tail(b.js, stream, event_type, last, follow, lambda line: click.echo(line))

    with contextlib.suppress(KeyboardInterrupt):
        _run(_with_bus(config_path, nats_url, action))


# ---------------------------------------------------------------- connectors
@cli.group()
def connectors() -> None:
    """Connector types and instances: list, register, remove, test."""


@connectors.command("types")
@_json_option
def connectors_types(as_json: bool) -> None:
    """List the connector types with their config fields."""
    from hub.instances import connector_types

    rows = []
    for name, cls in sorted(connector_types().items()):
        schema = cls.config_model.model_json_schema()
        rows.append({"type": name, "direction": cls.direction, "summary": cls.summary, "config_schema": schema})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['type']}  ({row['direction']})  {row['summary']}")
        props = row["config_schema"].get("properties", {})
        required = set(row["config_schema"].get("required", []))
        for field, spec in props.items():
            if field in ("type", "retry", "circuit", "schema_versions", "roles", "enabled", "batch_size"):
                continue
            flags = " (required)" if field in required else ""
            secret = " [secret]" if _is_secret(spec) else ""
            default = f" default={spec['default']!r}" if "default" in spec else ""
            click.echo(f"    {field}{flags}{secret}{default}: {spec.get('description', '')}")


def _is_secret(spec: dict[str, Any]) -> bool:
    return bool(spec.get("x-secret")) or any(s.get("x-secret") for s in spec.get("anyOf", []))


@connectors.command("list")
@_json_option
@_config_option
@_nats_option
def connectors_list(as_json: bool, config_path: str | None, nats_url: str | None) -> None:
    """List the configured and registered connector instances and their state."""
    from hub.status import gather_status

    status = _run(_with_bus(config_path, nats_url, lambda b: gather_status(b, config_path)))
    rows = status["connectors"]
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
    else:
        click.echo(_table(rows, ["name", "type", "origin", "state", "delivered", "last_error"]))


@connectors.command("register")
@click.argument("name")
@click.option("--type", "type_name", required=True, help="Connector type, see `hub connectors types`.")
@click.option("--config", "connector_config", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The connector instance's TOML config.")
@click.option("--hub-config", "config_path", type=click.Path(dir_okay=False), envvar="HUB_CONFIG",
              help="The hub's TOML config, to find its NATS (also HUB_CONFIG).")
@_nats_option
def connectors_register(name: str, type_name: str, connector_config: str, config_path: str | None,
                        nats_url: str | None) -> None:
    """Register connector NAME; every running hub worker starts it within seconds."""
    from hub.config import ConfigError
    from hub.instances import register, validate_instance

    try:
        body = tomllib.loads(Path(connector_config).read_text())
    except tomllib.TOMLDecodeError as exc:
        raise click.ClickException(f"{connector_config}: not valid TOML: {exc}") from None
    body["type"] = type_name
    _resolve_relative_paths(body, Path(connector_config).resolve().parent)
    try:
        validate_instance(name, body, connector_config)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    _run(_with_bus(config_path, nats_url, lambda b: register(b, name, body, connector_config)))
    click.echo(f"registered {name} ({type_name}); running hubs start it within seconds")


def _resolve_relative_paths(body: dict[str, Any], base: Path) -> None:
    for key in ("path", "wsdl", "known_hosts", "key_file"):
        value = body.get(key)
        if isinstance(value, str) and value and not re.match(r"^[a-z]+://", value) and not Path(value).is_absolute():
            body[key] = str(base / value)


@connectors.command("remove")
@click.argument("name")
@click.option("--hub-config", "config_path", type=click.Path(dir_okay=False), envvar="HUB_CONFIG",
              help="The hub's TOML config, to find its NATS (also HUB_CONFIG).")
@_nats_option
def connectors_remove(name: str, config_path: str | None, nats_url: str | None) -> None:
    """Remove registered connector NAME; running hub workers stop it within seconds."""
    from hub.instances import unregister

    if not _run(_with_bus(config_path, nats_url, lambda b: unregister(b, name))):
        raise click.ClickException(f"no registered connector named {name!r}")
    click.echo(f"removed {name}")


@connectors.command("test")
@click.argument("name")
@_config_option
@_nats_option
def connectors_test(name: str, config_path: str | None, nats_url: str | None) -> None:
    """Check that connector NAME's external system answers."""
    from hub.checks import check_connector

    ok, detail = _run(_with_bus(config_path, nats_url, lambda b: check_connector(b, config_path, name)))
    click.echo(f"{name}: {'ok' if ok else 'FAILED'}: {detail}")
    if not ok:
        sys.exit(1)


# ---------------------------------------------------------------- dlq
@cli.group()
def dlq() -> None:
    """Dead letters: list, inspect, replay, purge."""


def _filter_options(fn: Callable) -> Callable:
    fn = click.option("--connector", help="Only this connector.")(fn)
    fn = click.option("--stage", type=click.Choice(["ingest", "pipeline", "deliver"]), help="Only this stage.")(fn)
    fn = click.option("--error-class", type=click.Choice(["transient", "permanent", "contract"]),
                      help="Only this error class.")(fn)
    fn = click.option("--since", help="Only those that failed within this long, e.g. 30m, 2h, 1d.")(fn)
    return fn


def _make_filter(ids: tuple[str, ...], connector: str | None, stage: str | None, error_class: str | None,
                 since: str | None):
    from hub.dlq import Filter

    return Filter(ids=list(ids), connector=connector, stage=stage, error_class=error_class,
                  since=_parse_duration(since) if since else None)


def _parse_duration(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", text.strip())
    if not match:
        raise click.BadParameter(f"{text!r}: expected a number and s, m, h or d (e.g. 30m)", param_hint="--since")
    value, unit = float(match[1]), match[2]
    return timedelta(seconds=value * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])


async def _collect(b, flt) -> list:
    from hub.dlq import iterate

    return [letter async for letter in iterate(b.js, flt)]


@dlq.command("list")
@_filter_options
@_json_option
@_config_option
@_nats_option
def dlq_list(connector, stage, error_class, since, as_json, config_path, nats_url) -> None:
    """List dead letters, oldest first."""
    flt = _make_filter((), connector, stage, error_class, since)
    letters = _run(_with_bus(config_path, nats_url, lambda b: _collect(b, flt)))
    rows = [letter.summary() for letter in letters]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        click.echo(_table(rows, ["id", "stage", "connector", "event_type", "error_class", "attempts", "error"]))


@dlq.command("show")
@click.argument("letter_id")
@_config_option
@_nats_option
def dlq_show(letter_id: str, config_path: str | None, nats_url: str | None) -> None:
    """Show one dead letter with its full context (an id prefix is enough)."""
    from hub.dlq import find

    letter = _run(_with_bus(config_path, nats_url, lambda b: find(b.js, letter_id)))
    if letter is None:
        raise click.ClickException(f"no dead letter {letter_id!r}")
    click.echo(letter.model_dump_json(indent=2))


@dlq.command("replay")
@click.argument("ids", nargs=-1)
@click.option("--all", "replay_all", is_flag=True, help="Replay every dead letter (that matches the filters).")
@_filter_options
@click.option("--dry-run", is_flag=True, help="Only say what would be replayed.")
@_config_option
@_nats_option
def dlq_replay(ids, replay_all, connector, stage, error_class, since, dry_run, config_path, nats_url) -> None:
    """Re-send dead letters into the stage that failed, keeping their idempotency keys."""
    from hub.config import load_config
    from hub.dlq import replay

    if not ids and not replay_all and not any((connector, stage, error_class, since)):
        raise click.UsageError("name dead letter ids, or --all, or a filter")
    flt = _make_filter(ids, connector, stage, error_class, since)
    partitions = load_config(config_path).hub.partitions if config_path else 4

    async def action(b):
        letters = await _collect(b, flt)
        if dry_run:
            for letter in letters:
                click.echo(f"would replay {letter.id} ({letter.stage}, {letter.connector}, {letter.event_type})")
            return len(letters)
        with click.progressbar(length=len(letters), label="replaying", file=sys.stderr,
                               show_pos=True) as bar:
            return await replay(b.js, letters, partitions=partitions, progress=lambda _: bar.update(1))

    count = _run(_with_bus(config_path, nats_url, action))
    click.echo(f"{'would replay' if dry_run else 'replayed'} {count} dead letter(s)")


@dlq.command("purge")
@click.argument("ids", nargs=-1)
@click.option("--all", "purge_all", is_flag=True, help="Purge every dead letter (that matches the filters).")
@_filter_options
@_config_option
@_nats_option
def dlq_purge(ids, purge_all, connector, stage, error_class, since, config_path, nats_url) -> None:
    """Delete dead letters for good."""
    from hub.dlq import remove

    if not ids and not purge_all and not any((connector, stage, error_class, since)):
        raise click.UsageError("name dead letter ids, or --all, or a filter")
    flt = _make_filter(ids, connector, stage, error_class, since)

    async def action(b):
        letters = await _collect(b, flt)
        for letter in letters:
            await remove(b.js, letter)
        return len(letters)

    click.echo(f"purged {_run(_with_bus(config_path, nats_url, action))} dead letter(s)")


# ---------------------------------------------------------------- status
@cli.command()
@_json_option
@_config_option
@_nats_option
def status(as_json: bool, config_path: str | None, nats_url: str | None) -> None:
    """Show the running hub: workers, connectors, stream depths, dead letters."""
    from hub.status import gather_status, render_status

    data = _run(_with_bus(config_path, nats_url, lambda b: gather_status(b, config_path)))
    click.echo(json.dumps(data, indent=2, default=str) if as_json else render_status(data))
    if not as_json:
        for worker in data["workers"]:
            if worker.get("status_url"):
                click.echo(f"status page: {worker['status_url']}  ({worker['worker']})")


@cli.command()
@click.option("--tolerance", type=click.FloatRange(min=0), help="Units two systems may differ by "
              "(default: the config's [reconcile] tolerance, else 0).")
@click.option("--worst", type=click.IntRange(1, 1000), help="How many of the worst positions to list.")
@click.option("--check", is_flag=True, help="Exit 1 when any pair of systems disagrees beyond the tolerance.")
@_json_option
@_config_option
@_nats_option
def reconcile(tolerance: float | None, worst: int | None, check: bool, as_json: bool, config_path: str | None,
              nats_url: str | None) -> None:
    """Compare the latest ERP, WMS and POS / commerce on-hand figures per item and location."""
    from hub.bus import KV_STATE
    from hub.config import ConfigError, load_config
    from hub.reconcile import build_report, load_ledger, render_report, settings_from

    try:
        settings = settings_from(load_config(config_path) if config_path else None)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None

    async def action(b):
        return await load_ledger(await b.kv(KV_STATE))

    ledger = _run(_with_bus(config_path, nats_url, action))
    report = build_report(ledger, settings.tolerance if tolerance is None else tolerance, worst or settings.worst)
    click.echo(json.dumps(report, indent=2) if as_json else render_report(report))
    if check and report["pairs_disagreeing"]:
        sys.exit(1)


# Command groups contributed by other parts of the hub, added when their modules are present.
_PLUGIN_GROUPS = [
    ("hub.schemas.cli", "schemas"),
    ("hub.hooks.cli", "hooks"),
    ("hub.hooks.cli", "audit"),
    ("connectors.edi_3pl.cli", "edi"),
]


def _add_plugin_groups() -> None:
    for module_name, attr in _PLUGIN_GROUPS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        group = getattr(module, attr, None)
        if isinstance(group, click.Command):
            cli.add_command(group, attr)


_add_plugin_groups()


def main() -> None:
    cli(prog_name="hub")


if __name__ == "__main__":
    main()
