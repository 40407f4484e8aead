"""`hub schemas ...`: register, inspect, compare, check, export, deprecate schema versions, and see who sends which."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from nats.js.errors import BucketNotFoundError
from nats.js.kv import KeyValue

from hub.schemas import registry, usage
from hub.schemas.compat import Mode
from hub.schemas.export import export
from hub.schemas.keys import BUCKET

T = TypeVar("T")

_config_option = click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="HUB_CONFIG",
                              help="The hub's TOML config (also HUB_CONFIG).")
_nats_option = click.option("--nats-url", envvar="HUB_NATS_URL", help="NATS URL of the running hub (also HUB_NATS_URL).")
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
_MODES = click.Choice([m.value for m in Mode], case_sensitive=False)


@click.group("schemas", context_settings={"help_option_names": ["-h", "--help"]})
def schemas() -> None:
    """The schema registry: versions of canonical, partner and custom types, and who sends which."""


@schemas.command("register")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--type", "event_type", required=True, help="Partner payload or custom event type, e.g. partner.acme.order.")
@click.option("--mode", type=_MODES, help="Compatibility mode of the type from now on (default: its current mode).")
@_json_option
@_config_option
@_nats_option
def register_cmd(file: Path, event_type: str, mode: str | None, as_json: bool, config_path: str | None,
                 nats_url: str | None) -> None:
    """Register the JSON Schema in FILE as the next version of a type; refused with every incompatible change."""
    try:
        schema = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"reading {file}: {exc}") from None
    result = _with_kv(config_path, nats_url, lambda kv: registry.register(kv, event_type, schema, mode))
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    elif result.accepted:
        state = "unchanged, already" if result.unchanged else "registered as"
        click.echo(f"{event_type}: {state} v{result.version} (mode {result.mode.value})")
    else:
        click.echo(f"{event_type}: refused under mode {result.mode.value}:", err=True)
        for reason in result.reasons():
            click.echo(f"  {reason}", err=True)
    if not result.accepted:
        sys.exit(1)


@schemas.command("list")
@_json_option
@_config_option
@_nats_option
def list_cmd(as_json: bool, config_path: str | None, nats_url: str | None) -> None:
    """Every registered type with its versions, mode, origin and deprecated versions."""
    rows = [s.to_dict() for s in _with_kv(config_path, nats_url, registry.list_types)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        row["versions"] = ",".join(map(str, row["versions"]))
        row["deprecated"] = ",".join(map(str, row["deprecated"])) or "-"
    click.echo(_table(rows, ["type", "versions", "latest", "mode", "origin", "deprecated"]))


@schemas.command("show")
@click.argument("event_type", metavar="TYPE")
@click.option("--version", type=int, help="Version to show (default: the latest).")
@_config_option
@_nats_option
def show_cmd(event_type: str, version: int | None, config_path: str | None, nats_url: str | None) -> None:
    """Print one registered version's record and JSON Schema."""
    record = _with_kv(config_path, nats_url, lambda kv: registry.show(kv, event_type, version))
    click.echo(json.dumps(record.to_dict(), indent=2))


@schemas.command("diff")
@click.argument("event_type", metavar="TYPE")
@click.argument("old", type=int)
@click.argument("new", type=int)
@_json_option
@_config_option
@_nats_option
def diff_cmd(event_type: str, old: int, new: int, as_json: bool, config_path: str | None,
             nats_url: str | None) -> None:
    """The changes from version OLD to NEW of a type, and which readers each one breaks."""
    changes = _with_kv(config_path, nats_url, lambda kv: registry.diff_versions(kv, event_type, old, new))
    if as_json:
        click.echo(json.dumps([c.to_dict() for c in changes], indent=2))
        return
    rows = [{**c.to_dict(), "breaks": "/".join(d for d, b in (("backward", c.breaks_backward),
                                                             ("forward", c.breaks_forward)) if b) or "-"}
            for c in changes]
    click.echo(_table(rows, ["path", "kind", "detail", "breaks"]) if rows else "no changes")


@schemas.command("check")
@click.option("--offline", is_flag=True, help="Check the code's own versions only, without a hub.")
@click.option("--mode", type=_MODES, help="Check every type under this mode instead of its own.")
@_config_option
@_nats_option
def check_cmd(offline: bool, mode: str | None, config_path: str | None, nats_url: str | None) -> None:
    """Compare the code's schemas with each other and, when a hub is given, with its registry; exit 1 on problems.

    Each type is checked under its compatibility mode (or --mode). Without --config / --nats-url only the code is checked,
    which is what a CI without a hub needs.
    """
    if offline or not (config_path or nats_url):
        problems = asyncio.run(registry.check_code(None, mode))
        where = "the code's own versions"
    else:
        problems = _with_kv(config_path, nats_url, lambda kv: registry.check_code(kv, mode))
        where = "the code against the registry"
    if problems:
        click.echo(f"{len(problems)} problem(s) checking {where}:", err=True)
        for problem in problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    click.echo(f"ok: {where} are compatible")


@schemas.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--offline", is_flag=True, help="Export the code's schemas only, without a hub.")
@_config_option
@_nats_option
def export_cmd(directory: Path, offline: bool, config_path: str | None, nats_url: str | None) -> None:
    """Write DIRECTORY/schemas/<type>.v<N>.json for every version and DIRECTORY/asyncapi.json for the subjects.

    With a hub (--config / --nats-url) the registry's partner and custom schemas are exported too.
    """
    if offline or not (config_path or nats_url):
        written = asyncio.run(export(directory))
    else:
        written = _with_kv(config_path, nats_url, lambda kv: export(directory, kv))
    click.echo(f"wrote {len(written)} file(s) to {directory}")


@schemas.command("usage")
@_json_option
@_config_option
@_nats_option
def usage_cmd(as_json: bool, config_path: str | None, nats_url: str | None) -> None:
    """Which source sends which type and version: counts, first and last seen, summed over all workers."""
    rows = _with_kv(config_path, nats_url, usage.snapshot_all)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    shown = [{**r, "deprecated": "DEPRECATED" if r["deprecated"] else ""} for r in rows]
    click.echo(_table(shown, ["source", "type", "version", "count", "first_seen", "last_seen", "deprecated"]))
    for warning in usage.summarise(rows)["warnings"]:
        click.echo(f"warning: {warning}", err=True)


@schemas.command("deprecate")
@click.argument("event_type", metavar="TYPE")
@click.argument("version", type=int)
@click.option("--note", default="", help="Why, or by when senders must move.")
@_config_option
@_nats_option
def deprecate_cmd(event_type: str, version: int, note: str, config_path: str | None, nats_url: str | None) -> None:
    """Mark VERSION of TYPE deprecated: events still flow; each source sending it raises one task."""
    _with_kv(config_path, nats_url, lambda kv: registry.deprecate(kv, event_type, version, note))
    click.echo(f"{event_type} v{version} deprecated")


@schemas.command("undeprecate")
@click.argument("event_type", metavar="TYPE")
@click.argument("version", type=int)
@_config_option
@_nats_option
def undeprecate_cmd(event_type: str, version: int, config_path: str | None, nats_url: str | None) -> None:
    """Lift the deprecation of VERSION of TYPE."""
    _with_kv(config_path, nats_url, lambda kv: registry.undeprecate(kv, event_type, version))
    click.echo(f"{event_type} v{version} no longer deprecated")


@schemas.command("mode")
@click.argument("event_type", metavar="TYPE")
@click.argument("mode", required=False, type=_MODES)
@_config_option
@_nats_option
def mode_cmd(event_type: str, mode: str | None, config_path: str | None, nats_url: str | None) -> None:
    """Show the compatibility mode of TYPE, or set it to MODE (none, backward, forward, full, *_transitive)."""
    if mode is None:
        current = _with_kv(config_path, nats_url, lambda kv: registry.get_mode(kv, event_type))
    else:
        current = _with_kv(config_path, nats_url, lambda kv: registry.set_mode(kv, event_type, mode))
    click.echo(f"{event_type}: {current.value}")


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    from hub.cli import _table as table  # imported late: hub.cli adds this group when it is imported

    return table(rows, columns)


def _with_kv(config_path: str | None, nats_url: str | None, action: Callable[[KeyValue], Awaitable[T]]) -> T:
    try:
        return asyncio.run(_on_registry(config_path, nats_url, action))
    except (LookupError, ValueError, RuntimeError, OSError) as exc:
        raise click.ClickException(str(exc).strip("'\"")) from None


async def _on_registry(config_path: str | None, nats_url: str | None, action: Callable[[KeyValue], Awaitable[T]]) -> T:
    from hub.bus import connect_for_cli

    bus = await connect_for_cli(config_path, nats_url)
    try:
        try:
            kv = await bus.kv(BUCKET)
        except BucketNotFoundError:
            raise RuntimeError(f"no schema registry (KV bucket {BUCKET}) on this NATS: start `hub up` once") from None
        return await action(kv)
    finally:
        await bus.close()
