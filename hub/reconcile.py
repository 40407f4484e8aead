"""Stock-record reconciliation: the latest on-hand figure per system for each item and location, side by side.

A pipeline observer learns figures from stock.snapshot (on hand), cycle_count.recorded (counted) and
stock.adjusted (`on_hand_after`, when the source sends it), keyed by the kind of system that sent them
(erp, wms, pos; commerce counts as pos). It flushes them to the `hub_state` bucket in shards
(`reconcile.sNN`), merging with what other workers wrote, so `hub reconcile` and every status page see
one cluster-wide ledger. The report compares each pair of systems per position against a tolerance.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import combinations
from typing import Any, Literal

import orjson
from nats.js.errors import KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue
from pydantic import BaseModel, ConfigDict, Field

from canonical import Envelope

log = logging.getLogger("hub.reconcile")

System = Literal["erp", "wms", "pos"]
SYSTEMS: tuple[System, ...] = ("erp", "wms", "pos")
SYSTEM_OF_TYPE: dict[str, System] = {"erp.soap": "erp", "wms.rest": "wms", "pos.rest": "pos",
                                     "commerce.rest": "pos"}
SHARDS = 32
KEY_PREFIX = "reconcile.s"
_UPDATE_ATTEMPTS = 20

# One figure: (on hand, event time as epoch seconds, event id).
Figure = tuple[float, float, str]
Position = tuple[str, str]
Ledger = dict[Position, dict[str, Figure]]


class ReconcileSettings(BaseModel):
    """The `[reconcile]` table of the hub's config."""

    model_config = ConfigDict(extra="forbid")

    tolerance: float = Field(default=0, ge=0, description="Units two systems may differ by before they disagree.")
    systems: dict[str, System] = Field(
        default_factory=dict,
        description="Connector instance name -> erp, wms or pos, for sources whose type does not say it "
                    "(the types erp.soap, wms.rest, pos.rest and commerce.rest do).")
    flush_seconds: float = Field(default=2.0, gt=0, description="How often figures are written to hub_state.")
    worst: int = Field(default=20, ge=1, le=1000, description="How many of the worst positions a report lists.")


def settings_from(config: Any) -> ReconcileSettings:
    """The hub config's `[reconcile]` table, or the defaults when it has none."""
    raw = getattr(config, "reconcile", None)
    if raw is None:
        return ReconcileSettings()
    return raw if isinstance(raw, ReconcileSettings) else ReconcileSettings.model_validate(raw)


def on_hand_of(event: Envelope) -> float | None:
    """The absolute on-hand figure an event states, in eaches; None when it states none."""
    data = event.data
    if event.type == "stock.snapshot":
        return data["status"].get("on_hand")
    if event.type == "cycle_count.recorded":
        return data["counted"]
    if event.type == "stock.adjusted" and data.get("on_hand_after") is not None:
        return data["on_hand_after"] * data.get("units_per_uom", 1)
    return None


def shard_of(position: Position) -> int:
    return zlib.crc32(f"{position[0]}\x00{position[1]}".encode()) % SHARDS


def merge_figure(figures: dict[str, Figure], system: str, figure: Figure) -> bool:
    """Keep the later of two figures of one system (by event time); True when `figure` was taken."""
    current = figures.get(system)
    if current is not None and current[1] > figure[1]:
        return False
    figures[system] = figure
    return True


class Reconciler:
    """A pipeline observer (`observe`) with a periodic flush to the hub_state bucket."""

    def __init__(self, kv: KeyValue, system_of: Callable[[str], System | None],
                 settings: ReconcileSettings | None = None) -> None:
        self.kv = kv
        self.system_of = system_of
        self.settings = settings or ReconcileSettings()
        self.ledger: Ledger = {}
        self._dirty: set[int] = set()
        self._flusher: asyncio.Task | None = None

    def observe(self, source: str, event: Envelope) -> list[Envelope]:
        system = self.system_of(source)
        if system is None:
            return []
        quantity = on_hand_of(event)
        if quantity is None:
            return []
        position = (event.data["sku"], event.data["location"])
        figure = (quantity, event.time.timestamp(), event.id)
        if merge_figure(self.ledger.setdefault(position, {}), system, figure):
            self._dirty.add(shard_of(position))
        return []

    async def start(self) -> None:
        self._flusher = asyncio.create_task(self._flush_forever(), name="reconcile-flush")

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
            self._flusher = None
        await self.flush()

    async def flush(self) -> None:
        """Merge the shards that changed into KV; what could not be written stays dirty for the next flush."""
        while self._dirty:
            shard = min(self._dirty)
            mine = {p: f for p, f in self.ledger.items() if shard_of(p) == shard}
            await _merge_shard(self.kv, shard, mine)
            self._dirty.discard(shard)

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.flush_seconds)
            try:
                await self.flush()
            except Exception as exc:  # noqa: BLE001 - NATS may be failing over; the figures wait for the next flush
                log.warning("reconciliation figures not flushed: %s", exc)


def system_resolver(type_of: Callable[[str], str | None], overrides: dict[str, System]) -> Callable[[str], System | None]:
    """Connector instance name -> system kind: the config's `systems` first, then the connector's type."""
    def resolve(connector: str) -> System | None:
        if connector in overrides:
            return overrides[connector]
        type_name = type_of(connector)
        return SYSTEM_OF_TYPE.get(type_name) if type_name else None
    return resolve


async def load_ledger(kv: KeyValue) -> Ledger:
    """The cluster-wide ledger as every worker flushed it."""
    ledger: Ledger = {}
    for shard in range(SHARDS):
        stored = await _read_shard(kv, shard)
        if stored is not None:
            ledger.update(stored[0])
    return ledger


def build_report(ledger: Ledger, tolerance: float = 0, worst: int = 20) -> dict[str, Any]:
    """Pairs of systems compared per position, how many differ by more than `tolerance`, the worst positions."""
    by_pair = {f"{a}-{b}": {"compared": 0, "disagreeing": 0} for a, b in combinations(SYSTEMS, 2)}
    rows = []
    compared_positions = 0
    for (sku, location), figures in ledger.items():
        present = [s for s in SYSTEMS if s in figures]
        if len(present) < 2:
            continue
        compared_positions += 1
        disagreeing, largest = [], 0.0
        for a, b in combinations(present, 2):
            difference = abs(figures[a][0] - figures[b][0])
            by_pair[f"{a}-{b}"]["compared"] += 1
            largest = max(largest, difference)
            if difference > tolerance:
                by_pair[f"{a}-{b}"]["disagreeing"] += 1
                disagreeing.append(f"{a}-{b}")
        if disagreeing:
            rows.append({"sku": sku, "location": location, "max_difference": _number(largest),
                         "disagreeing_pairs": disagreeing,
                         "figures": {s: {"on_hand": _number(figures[s][0]), "as_of": _iso(figures[s][1]),
                                         "event_id": figures[s][2]} for s in present}})
    rows.sort(key=lambda r: (-r["max_difference"], r["sku"], r["location"]))
    return {
        "tolerance": _number(tolerance),
        "positions": len(ledger),
        "positions_compared": compared_positions,
        "pairs_compared": sum(p["compared"] for p in by_pair.values()),
        "pairs_disagreeing": sum(p["disagreeing"] for p in by_pair.values()),
        "by_pair": by_pair,
        "worst": rows[:worst],
    }


def render_report(report: dict[str, Any]) -> str:
    """The report as `hub reconcile` prints it on a terminal."""
    lines = [f"positions tracked: {report['positions']}, compared: {report['positions_compared']}",
             f"pairs compared: {report['pairs_compared']}, disagreeing beyond {report['tolerance']}: "
             f"{report['pairs_disagreeing']}"]
    for pair, counts in report["by_pair"].items():
        lines.append(f"  {pair:<8} compared {counts['compared']:>7}  disagreeing {counts['disagreeing']:>7}")
    if report["worst"]:
        lines.append("worst:")
        header = f"  {'SKU':<16} {'LOCATION':<12} " + " ".join(f"{s.upper():>8}" for s in SYSTEMS) + "      DIFF"
        lines.append(header)
        for row in report["worst"]:
            cells = " ".join(f"{_cell(row['figures'].get(s)):>8}" for s in SYSTEMS)
            lines.append(f"  {row['sku']:<16} {row['location']:<12} {cells} {row['max_difference']:>9}")
    return "\n".join(lines)


async def _merge_shard(kv: KeyValue, shard: int, mine: Ledger) -> None:
    key = f"{KEY_PREFIX}{shard:02d}"
    for _ in range(_UPDATE_ATTEMPTS):
        stored = await _read_shard(kv, shard)
        merged, revision = stored if stored is not None else ({}, None)
        for position, figures in mine.items():
            target = merged.setdefault(position, {})
            for system, figure in figures.items():
                merge_figure(target, system, figure)
        body = orjson.dumps([[sku, location, figures] for (sku, location), figures in merged.items()])
        try:
            if revision is None:
                await kv.create(key, body)
            else:
                await kv.update(key, body, last=revision)
            return
        except KeyWrongLastSequenceError:
            continue  # another worker wrote this shard in between: merge with what it wrote
    raise RuntimeError(f"flushing reconciliation shard {key}: {_UPDATE_ATTEMPTS} concurrent updates in a row")


async def _read_shard(kv: KeyValue, shard: int) -> tuple[Ledger, int] | None:
    key = f"{KEY_PREFIX}{shard:02d}"
    try:
        entry = await kv.get(key)
    except NotFoundError:
        return None
    if not entry.value:
        return None
    try:
        ledger: Ledger = {}
        for sku, location, figures in orjson.loads(entry.value):
            ledger[(sku, location)] = {s: (float(f[0]), float(f[1]), str(f[2])) for s, f in figures.items()}
    except (orjson.JSONDecodeError, TypeError, ValueError, IndexError) as exc:
        raise ValueError(f"reading {key} from hub_state: not a reconciliation shard ({exc})") from None
    return ledger, entry.revision


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _cell(figure: dict[str, Any] | None) -> str:
    return "-" if figure is None else str(figure["on_hand"])

