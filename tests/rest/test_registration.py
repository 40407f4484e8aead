"""The REST connector types are registered as entry points and declare documented configs with secrets marked."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
from pydantic import ValidationError

TYPES = {"pos.rest": "source", "commerce.rest": "sink", "wms.rest": "both"}


@pytest.mark.parametrize(("type_name", "direction"), sorted(TYPES.items()))
def test_each_type_loads_from_its_entry_point(type_name: str, direction: str) -> None:
    [point] = [p for p in entry_points(group="hub.connectors") if p.name == type_name]
    cls = point.load()
    assert (cls.type_name, cls.direction) == (type_name, direction)
    assert cls.summary


@pytest.mark.parametrize("type_name", sorted(TYPES))
def test_config_fields_are_documented_and_secrets_are_marked(type_name: str) -> None:
    [point] = [p for p in entry_points(group="hub.connectors") if p.name == type_name]
    schema = point.load().config_model.model_json_schema()
    own = {"base_url", "token", "timeout_seconds", "system", "feed_path", "poll_interval_seconds", "webhook"}
    undocumented = [name for name, field in schema["properties"].items()
                    if name in own and "description" not in field]
    assert undocumented == []
    assert schema["properties"]["token"]["anyOf"][0]["x-secret"] is True
    if "webhook" in schema["properties"]:
        assert schema["$defs"]["WebhookConfig"]["properties"]["secret"]["x-secret"] is True


def test_a_bad_config_names_the_key() -> None:
    from connectors.pos import PosRest

    with pytest.raises(ValidationError) as caught:
        PosRest.config_model.model_validate({"type": "pos.rest", "system": "shop one", "base_url": "http://x",
                                             "webhook": {"path": "hooks", "secret": "env:S"}})
    problems = {".".join(str(p) for p in e["loc"]) for e in caught.value.errors()}
    assert problems == {"system", "webhook.path"}


def test_secrets_never_show_in_a_dumped_config() -> None:
    from connectors.pos import CommerceRest

    config = CommerceRest.config_model.model_validate(
        {"type": "commerce.rest", "base_url": "http://x", "token": "literal-token-value"})
    assert "literal-token-value" not in config.model_dump_json()
    assert "literal-token-value" not in repr(config)
