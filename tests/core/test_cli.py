"""The `hub` command: version, help on every command, config errors that name file and key."""

from __future__ import annotations

import click
from click.testing import CliRunner

from hub import __version__
from hub.cli import cli
from hub.config import ConfigError, load_config


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


def test_version_and_help_on_every_command():
    runner = CliRunner()
    assert __version__ in runner.invoke(cli, ["--version"]).output
    paths = list(_commands(cli))
    assert {("up",), ("events", "publish"), ("connectors", "register"), ("dlq", "replay"), ("status",)} <= set(paths)
    for path in paths:
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output


def test_events_types_and_examples_are_valid():
    runner = CliRunner()
    listing = runner.invoke(cli, ["events", "types"])
    assert "stock.adjusted" in listing.output and "partner.acknowledged" in listing.output
    from canonical import EVENT_TYPES, parse_event

    for event_type in EVENT_TYPES:
        result = runner.invoke(cli, ["events", "example", event_type])
        assert result.exit_code == 0
        assert parse_event(result.output).type == event_type
    assert runner.invoke(cli, ["events", "example", "stock.nope"]).exit_code != 0


def test_config_errors_name_the_file_and_the_key(tmp_path):
    config = tmp_path / "hub.toml"
    config.write_text('[hub]\npartitions = "many"\n\n[[routes]]\nname = "r"\nmatch = "*"\ntargets = ["ghost"]\n')
    try:
        load_config(config)
    except ConfigError as exc:
        message = str(exc)
    else:
        raise AssertionError("an invalid config was accepted")
    assert f"{config}: hub.partitions" in message and "valid integer" in message
    config.write_text('[connectors.in]\ntype = "file.inbox"\n\n[[routes]]\nname = "r"\nmatch = "*"\ntargets = ["ghost"]\n')
    try:
        load_config(config)
    except ConfigError as exc:
        assert "routes[0].targets: no connector named 'ghost'" in str(exc)
    else:
        raise AssertionError("a route to an unknown connector was accepted")


def test_connector_config_errors_name_the_key(tmp_path):
    from hub.instances import validate_instance

    try:
        validate_instance("web", {"type": "http.post", "timeout": -1}, "hub.toml")
    except ConfigError as exc:
        message = str(exc)
    else:
        raise AssertionError("an invalid connector config was accepted")
    assert "hub.toml: connectors.web.url: Field required" in message
    assert "connectors.web.timeout" in message
    try:
        validate_instance("web", {"type": "carrier.pigeon"}, "hub.toml")
    except ConfigError as exc:
        assert "unknown connector type 'carrier.pigeon'" in str(exc) and "file.inbox" in str(exc)
