"""Per-key hook state kept compact (one float array per key) and snapshotted to KV in shards."""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterator
from typing import Any

SHARDS = 32
TYPECODE = "f"


class KeyedState:
    """The state of one hook: key (e.g. SKU@LOCATION) -> fixed-width array of single-precision floats.

    One `array('f')` per key costs 64 bytes plus 4 per field, far less than an object with float attributes
    (24 bytes per float object alone). Single precision holds day numbers and counts exactly (integers up
    to 2**24) and levels to seven digits, more than the models resolve; arithmetic is done in double and
    rounded on store, the same way every time, so replays stay exact.
    """

    __slots__ = ("width", "initial", "_values", "_generation")

    def __init__(self, width: int, initial: tuple[float, ...] | None = None) -> None:
        self.width = width
        fields = initial if initial is not None else (0.0,) * width
        if len(fields) != width:
            raise ValueError(f"initial state has {len(fields)} fields, expected {width}")
        # One hidden last field holds the snapshot generation in which the key was last handed out, which
        # marks it changed for 4 bytes instead of a set entry per key.
        self.initial = array(TYPECODE, (*fields, 0.0))
        self._values: dict[str, array] = {}
        self._generation = 1.0

    def get(self, key: str) -> array:
        """The key's state (created from the initial values on first sight), marked as changed."""
        values = self._values.get(key)
        if values is None:
            values = self._values[key] = array(TYPECODE, self.initial)
        values[-1] = self._generation
        return values

    def peek(self, key: str) -> array | None:
        return self._values.get(key)

    def take_dirty_shards(self) -> set[int]:
        """The shards holding keys handed out since the last call."""
        generation = self._generation
        self._generation += 1.0
        return {shard_of(key) for key, values in self._values.items() if values[-1] == generation}

    def live_entries(self, shards: set[int]) -> dict[int, dict[str, list[float]]]:
        """The keys of `shards` this process has handed out since it started (not those it only restored)."""
        out: dict[int, dict[str, list[float]]] = {}
        for key in sorted(self._values):
            values = self._values[key]
            shard = shard_of(key)
            if values[-1] >= 1.0 and shard in shards:
                out.setdefault(shard, {})[key] = values.tolist()[:-1]
        return out

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def load_shard(self, shard: int, payload: Any) -> None:
        if not isinstance(payload, dict):
            raise ValueError(f"shard {shard}: expected an object of key -> numbers, got {type(payload).__name__}")
        for key, values in payload.items():
            if not isinstance(values, list) or len(values) != self.width:
                raise ValueError(f"shard {shard}: key {key!r} has {len(values) if isinstance(values, list) else values!r}"
                                 f" values, expected {self.width}")
            self._values[key] = array(TYPECODE, (*values, 0.0))


def shard_of(key: str) -> int:
    return zlib.crc32(key.encode()) % SHARDS
