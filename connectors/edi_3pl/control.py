"""Interchange control numbers per partner and standard, kept in KV and never reused."""

from __future__ import annotations

from hub.errors import PermanentError
from hub.sdk import StateStore

LIMITS = {"x12": 999_999_999, "edifact": 99_999_999_999_999}


async def next_control(state: StateStore, standard: str) -> int:
    """The next unused control number; `create` (put-if-absent) makes two workers never share one."""
    limit = LIMITS[standard]
    number = int(await state.get(f"ctl.{standard}") or 0) + 1
    while number <= limit:
        if await state.create(f"ctl.{standard}.{number}", True):
            await state.put(f"ctl.{standard}", number)
            return number
        number += 1
    raise PermanentError(f"{standard} control numbers are exhausted (limit {limit}); agree a reset with the partner")


async def control_for(state: StateStore, key: str, standard: str) -> int:
    """The control number bound to `key` (an outbound document), claiming a new one the first time."""
    bound = await state.get(key)
    if bound is not None:
        return int(bound)
    number = await next_control(state, standard)
    if await state.create(key, number):
        return number
    # Another worker bound the key first; its number wins and ours is simply left unused.
    return int(await state.get(key))
