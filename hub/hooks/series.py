"""Scoring a plain series with the demand hook: `hub hooks score demand FILE.csv` (columns timestamp,value).

Each row is one day's units sold at one item-location; a row's day closes when the row is read, so each
row gets the score of its full day. Rows must be in time order, one per day.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from canonical import Envelope
from hub.hooks.demand import DemandHook
from hub.hooks.result import HookResult

_SKU, _LOCATION = "SERIES", "CSV"


class SeriesError(ValueError):
    """A series file that cannot be scored; the message names the line and the value that was wrong."""


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    when: datetime
    value: int


def read_series(text: str, source: str = "series") -> list[Row]:
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    if header[:2] != ["timestamp", "value"]:
        raise SeriesError(f"{source}: line 1: expected the header 'timestamp,value', got {','.join(header)!r}")
    rows: list[Row] = []
    for line, cells in enumerate(reader, start=2):
        if not cells or not "".join(cells).strip():
            continue
        rows.append(_row(source, line, cells, rows[-1] if rows else None))
    return rows


def score_series(rows: list[Row], hook: DemandHook | None = None) -> Iterator[tuple[Row, HookResult]]:
    """Each row with the demand hook's result for its day."""
    hook = hook or DemandHook()
    state = hook.new_state()
    for row in rows:
        if row.value > 0:
            hook.score(_event("stock.adjusted", row, {"delta": -row.value, "reason": "sale"}), state)
        result = hook.score(_event("stock.snapshot", row, {"status": {"on_hand": 0}}), state)
        if result is None:
            raise SeriesError(f"line {row.line}: the demand hook returned nothing for a day close")
        yield row, result


def _row(source: str, line: int, cells: list[str], previous: Row | None) -> Row:
    if len(cells) < 2:
        raise SeriesError(f"{source}: line {line}: expected timestamp,value, got {','.join(cells)!r}")
    raw_time, raw_value = cells[0].strip(), cells[1].strip()
    try:
        when = datetime.fromisoformat(raw_time)
    except ValueError:
        raise SeriesError(f"{source}: line {line}: timestamp {raw_time!r} is not ISO 8601") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        number = float(raw_value)
    except ValueError:
        raise SeriesError(f"{source}: line {line}: value {raw_value!r} is not a number") from None
    if number < 0 or number != int(number):
        raise SeriesError(f"{source}: line {line}: value {raw_value!r} must be a whole number of units, 0 or more")
    if previous is not None and when.date() <= previous.when.date():
        raise SeriesError(f"{source}: line {line}: {when.date()} does not come after line {previous.line}'s "
                          f"{previous.when.date()} (one row per day, in time order)")
    return Row(line, when, int(number))


def _event(event_type: str, row: Row, data: dict) -> Envelope:
    day: date = row.when.date()
    return Envelope.model_construct(
        id=f"series-{row.line}-{event_type}", type=event_type, source="urn:hub:series",
        time=datetime.combine(day, time(23, 59), tzinfo=row.when.tzinfo), subject=f"{_SKU}@{_LOCATION}",
        schema_version=1, idempotency_key=f"series-{row.line}-{event_type}",
        data={"sku": _SKU, "location": _LOCATION, **data}, enrichments={}, specversion="1.0",
        datacontenttype="application/json", correlation_id=None, causation_id=None, dataschema=None, trace=None)
