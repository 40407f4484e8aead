"""`hub hooks ...` (list, eval, score) and `hub audit ...` (tail, show)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

T = TypeVar("T")

_config_option = click.option("--config", "config_path", type=click.Path(dir_okay=False),
                              help="The hub's TOML config.")
_nats_option = click.option("--nats-url", help="NATS to read from (else HUB_NATS_URL, the config, or the running hub).")


@click.group()
def hooks() -> None:
    """AI hooks: what is installed, how well they detect, and scoring a series by hand."""


@hooks.command("list")
@_config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_hooks(config_path: str | None, as_json: bool) -> None:
    """Show installed hooks with their model versions and, with --config, which run and under what policy."""
    from hub.hooks.config import HooksConfigError, parse_hooks_config
    from hub.hooks.registry import BUILTIN, HookRegistryError, available_hooks

    try:
        classes = available_hooks()
    except HookRegistryError as exc:
        raise click.ClickException(str(exc)) from None
    section = _hooks_section(config_path)
    try:
        parsed = parse_hooks_config(section) if section is not None else None
    except HooksConfigError as exc:
        raise click.ClickException(str(exc)) from None
    enabled = parsed[0].enabled if parsed else []
    rows = [{"hook": name, "model_version": cls.model_version, "origin": "built-in" if name in BUILTIN else "plug-in",
             "enabled": name in enabled, "events": ", ".join(sorted(cls.event_types)),
             "config_hash": classes[name](parsed[1][name], parsed[0].catalog).config_hash if name in enabled else ""}
            for name, cls in sorted(classes.items())]
    policy = parsed[0].policy.model_dump(mode="json") if parsed else None
    if as_json:
        click.echo(json.dumps({"hooks": rows, "policy": policy}, indent=2))
        return
    for row in rows:
        flag = "on " if row["enabled"] else "off" if parsed else "   "
        click.echo(f"{flag} {row['hook']:<14} {row['model_version']:<20} {row['origin']:<9} {row['config_hash']:<17}"
                   f"{row['events']}")
    if policy is not None:
        click.echo(f"\npolicy {policy['version']} (default {policy['default']})")
        for rule in policy["rules"]:
            click.echo(f"  {rule['name']:<24} hook={rule['hook']} action={rule['action']} mode={rule['mode']} "
                       f"min_confidence={rule['min_confidence']} min_score={rule['min_score']}")


@hooks.command("eval")
@click.option("--seed-tune", default=1, show_default=True, help="Seed of the simulations thresholds are chosen on.")
@click.option("--seed-test", default=2, show_default=True, help="Seed of the simulations the scores come from.")
@click.option("--items", default=300, show_default=True, help="Item-locations per simulation.")
@click.option("--days", default=364, show_default=True, help="Days per simulation.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object keyed by hook name.")
def eval_hooks(seed_tune: int, seed_test: int, items: int, days: int, as_json: bool) -> None:
    """Run the evaluation harness: tune on one seed, report precision, recall, F1, episode recall, delay,
    false alarms per 1,000 item-days, events per second and bytes of state per key on another."""
    from hub.hooks.evaluate import evaluate
    from hub.hooks.sim_demand import MIN_DAYS

    if seed_tune == seed_test:
        raise click.ClickException("--seed-tune and --seed-test must differ: thresholds are chosen on one "
                                   "and reported on the other")
    if items < 1 or days < MIN_DAYS:
        raise click.ClickException(f"--items must be at least 1 and --days at least {MIN_DAYS}")
    report = evaluate(seed_tune, seed_test, items, days,
                      progress=lambda name: click.echo(f"evaluating {name} ...", err=True))
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    columns = ["precision", "recall", "f1", "episode_recall", "median_delay_days", "false_alarms_per_1000",
               "events_per_s", "bytes_per_key"]
    click.echo(f"{'hook':<13}" + "".join(f"{c:>22}" for c in columns))
    for name, row in report.items():
        click.echo(f"{name:<13}" + "".join(f"{_cell(row.get(c)):>22}" for c in columns))
    for name, row in report.items():
        if "chosen" in row:
            click.echo(f"{name}: chosen on seed {seed_tune}: {row['chosen']} (tune F1 {row['tune_f1']})")
    click.echo(f"demand: a day-by-day test knowing the true mean and dispersion scores F1 "
               f"{report['demand']['oracle_f1']} on seed {seed_test} (reference ceiling)")


@hooks.command("score")
@click.argument("hook_name", metavar="HOOK", type=click.Choice(["demand"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--threshold", type=float, help="Flag threshold in standard deviations (default from the hook).")
def score(hook_name: str, file: str, threshold: float | None) -> None:
    """Score a plain series (CSV with columns timestamp,value; one row per day) and print one score per row."""
    from hub.hooks.demand import DemandHook, DemandParams
    from hub.hooks.series import SeriesError, read_series, score_series

    params = DemandParams() if threshold is None else DemandParams(threshold=threshold)
    try:
        rows = read_series(Path(file).read_text(), source=file)
        click.echo("timestamp,value,score,reasons")
        for row, result in score_series(rows, DemandHook(params)):
            reasons = ";".join(r for r in result.reasons if r != "insufficient_history")
            click.echo(f"{row.when.isoformat()},{row.value},{result.score:.4f},{reasons}")
    except SeriesError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def audit() -> None:
    """The AUDIT trail: every hook result and every decision, with its evidence and policy."""


@audit.command("tail")
@click.option("--kind", help="Only records of this kind (hook_result, decision, replay, ...).")
@click.option("--last", default=20, show_default=True, help="How many recent records to show first.")
@click.option("--follow", is_flag=True, help="Keep printing new records until interrupted.")
@click.option("--json", "as_json", is_flag=True, help="Print each record as a JSON line.")
@_config_option
@_nats_option
def tail(kind: str | None, last: int, follow: bool, as_json: bool, config_path: str | None,
         nats_url: str | None) -> None:
    """Show the latest AUDIT records, and with --follow new ones as they are stored."""
    from hub.hooks import auditlog

    emit = _emitter(as_json)

    async def action(js: Any) -> None:
        for record in await auditlog.latest(js, kind=kind, last=last):
            emit(record)
        if follow:
            await auditlog.follow(js, emit, kind=kind)

    _run(_with_js(config_path, nats_url, action))


@audit.command("show")
@click.argument("event_id")
@click.option("--json", "as_json", is_flag=True, help="Print each record as a JSON line.")
@_config_option
@_nats_option
def show(event_id: str, as_json: bool, config_path: str | None, nats_url: str | None) -> None:
    """Show every AUDIT record about one event: each hook's result and each decision taken."""
    from hub.hooks import auditlog

    records = _run(_with_js(config_path, nats_url, lambda js: auditlog.for_event(js, event_id)))
    if not records:
        click.echo(f"no AUDIT records for event {event_id}", err=True)
        sys.exit(1)
    if as_json:
        for record in records:
            click.echo(json.dumps(record, sort_keys=True))
        return
    for record in records:
        click.echo(_detail(record))


def _hooks_section(config_path: str | None) -> dict[str, Any] | None:
    if not config_path:
        return None
    from hub.config import ConfigError, load_config

    try:
        return load_config(config_path).hooks
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _emitter(as_json: bool) -> Callable[[dict[str, Any]], None]:
    from hub.hooks.auditlog import render

    if as_json:
        return lambda record: click.echo(json.dumps(record, sort_keys=True))
    return lambda record: click.echo(render(record))


def _detail(record: dict[str, Any]) -> str:
    from hub.hooks.auditlog import render

    lines = [render(record)]
    for reason, evidence in (record.get("evidence") or {}).items():
        lines.append(f"    {reason}: {json.dumps(evidence, sort_keys=True)}")
    for output in record.get("outputs") or []:
        lines.append(f"    -> {json.dumps(output, sort_keys=True)}")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) and not value.is_integer() else str(value)


async def _with_js(config_path: str | None, nats_url: str | None, action: Callable[[Any], Awaitable[T]]) -> T:
    from hub.bus import connect_for_cli

    bus = await connect_for_cli(config_path, nats_url)
    try:
        return await action(bus.js)
    finally:
        await bus.close()


def _run(coro: Awaitable[T]) -> T:
    from hub.hooks.auditlog import AuditReadError

    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        sys.exit(130)
    except (AuditReadError, RuntimeError, ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
