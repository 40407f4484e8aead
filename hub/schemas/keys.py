"""Key layout of the `hub_schemas` bucket, and checks on the names that go into keys.

schema.<type>.v<N>             a version's record (JSON Schema, origin, when)
mode.<type>                    the type's compatibility mode
deprecated.<type>.v<N>         present while version N of the type is deprecated
usage.<source>.<type>.v<N>     how often a source sent that version (summed over workers)
task.<source>.<type>.v<N>      present once a deprecation task was raised for that source
"""

from __future__ import annotations

import re

from nats.js.errors import NotFoundError
from nats.js.kv import KeyValue

from hub.bus import kv_keys

BUCKET = "hub_schemas"
_TYPE = re.compile(r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$")
_VERSIONED = re.compile(r"^(?P<prefix>[a-z]+)\.(?P<rest>.+)\.v(?P<version>[0-9]+)$")
# KV keys allow [-/_=.A-Za-z0-9]; every other byte of a source name is written as =XX.
_KEY_UNSAFE = re.compile(r"[^-/_A-Za-z0-9]")


def check_type_name(event_type: str) -> str:
    if not _TYPE.match(event_type):
        raise ValueError(f"type {event_type!r} is not a valid type name: lower-case words of "
                         "[a-z0-9_-] joined by dots, e.g. partner.acme.order")
    return event_type


def schema_key(event_type: str, version: int) -> str:
    return f"schema.{event_type}.v{version}"


def mode_key(event_type: str) -> str:
    return f"mode.{event_type}"


def deprecated_key(event_type: str, version: int) -> str:
    return f"deprecated.{event_type}.v{version}"


def usage_key(source: str, event_type: str, version: int) -> str:
    return f"usage.{encode_source(source)}.{event_type}.v{version}"


def task_key(source: str, event_type: str, version: int) -> str:
    return f"task.{encode_source(source)}.{event_type}.v{version}"


def encode_source(source: str) -> str:
    """A source name as one key token (no dots), reversible by `decode_source`."""
    return _KEY_UNSAFE.sub(lambda m: "".join(f"={b:02X}" for b in m.group().encode()), source) or "=00"


def decode_source(token: str) -> str:
    if token == "=00":
        return ""
    raw = re.sub(rb"=([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]), token.encode())
    return raw.decode()


def parse_versioned(key: str) -> tuple[str, str, int] | None:
    """(prefix, rest, version) of a `prefix.<rest>.v<N>` key; None for other keys."""
    found = _VERSIONED.match(key)
    if found is None:
        return None
    return found["prefix"], found["rest"], int(found["version"])


def split_source(rest: str) -> tuple[str, str]:
    """`<source>.<type>` of a usage or task key into (source, type)."""
    token, _, event_type = rest.partition(".")
    return decode_source(token), event_type


async def live_entries(kv: KeyValue, pattern: str) -> list[KeyValue.Entry]:
    """The current entry of every live key matching a NATS subject pattern (`schema.>`), in key order.

    nats-py's key watcher can signal "no more keys" before it hands over the last one, so the
    stream's own list of subjects is read instead, then each key (deleted ones are skipped).
    """
    entries = []
    for key in await kv_keys(kv, pattern):
        try:
            entries.append(await kv.get(key))
        except NotFoundError:  # deleted or purged: a marker is all that is left
            continue
    return entries
