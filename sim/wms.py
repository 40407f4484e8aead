"""A simulated warehouse system on loopback: a feed of receipts, shipments, cycle counts, adjustments and
snapshots (sent to the hub as signed webhooks too), and an API taking transfer requests and count tasks.

    peer = WmsPeer(token="t", webhook_url=hub_url, webhook_secret="s")
    peer.seed(skus=500, warehouses=2)
    await peer.start()
    await peer.receipt("DC-01", [("SKU-00001", 120)])
    peer.transfers["TR-1"]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from sim.http_peer import HttpPeer, error, read_json

Lines = Sequence[tuple[str, int]]

TRANSFER_FIELDS = ("transfer_id", "sku", "from_location", "to_location", "quantity")
COUNT_TASK_FIELDS = ("task_id", "sku", "location")


class WmsPeer(HttpPeer):
    """State a test can read: `stock[(sku, warehouse)]`, `transfers[transfer_id]`, `count_tasks[task_id]`."""

    feed_prefix = "wev"

    def __init__(self, *, token: str, **kwargs: Any) -> None:
        super().__init__(token=token, **kwargs)
        self.stock: dict[tuple[str, str], int] = {}
        self.transfers: dict[str, dict[str, Any]] = {}
        self.count_tasks: dict[str, dict[str, Any]] = {}
        self._numbers = itertools.count(1)

    def seed(self, skus: int = 500, warehouses: int = 2, on_hand: int = 100) -> None:
        """SKU-00001.. in DC-01.. with `on_hand` units each."""
        for w in range(1, warehouses + 1):
            for s in range(1, skus + 1):
                self.stock[(f"SKU-{s:05d}", f"DC-{w:02d}")] = on_hand

    # ---- activity: each call changes stock, adds a feed item and sends it as a webhook unless told not to

    async def receipt(self, warehouse: str, lines: Lines, *, po_number: str | None = None,
                      webhook: bool = True) -> dict[str, Any]:
        for sku, qty in lines:
            self._move(sku, warehouse, qty)
        data = {"receipt_id": self._number("RCV"), "warehouse": warehouse, "po_number": po_number,
                "lines": [{"line": n, "sku": sku, "received": qty} for n, (sku, qty) in enumerate(lines, 1)]}
        return await self._emit("receipt", data, webhook)

    async def ship(self, transfer_id: str, warehouse: str, to_location: str, lines: Lines, *,
                   webhook: bool = True) -> dict[str, Any]:
        for sku, qty in lines:
            self._move(sku, warehouse, -qty)
        data = {"shipment_id": self._number("SHP"), "transfer_id": transfer_id, "warehouse": warehouse,
                "to_location": to_location, "carrier": "SIMFREIGHT",
                "lines": [{"line": n, "sku": sku, "quantity": qty} for n, (sku, qty) in enumerate(lines, 1)]}
        return await self._emit("shipment", data, webhook)

    async def count(self, warehouse: str, counts: Lines, *, webhook: bool = True) -> dict[str, Any]:
        """Record counted quantities; the WMS corrects its stock to what was counted."""
        lines = []
        for n, (sku, counted) in enumerate(counts, 1):
            lines.append({"line": n, "sku": sku, "counted": counted,
                          "system_quantity": self.stock.get((sku, warehouse), 0)})
            self.stock[(sku, warehouse)] = counted
        data = {"count_id": self._number("CNT"), "warehouse": warehouse, "counter": "sim", "lines": lines}
        return await self._emit("cycle_count", data, webhook)

    async def adjust(self, warehouse: str, sku: str, delta: int, reason_code: str = "DMG", *,
                     webhook: bool = True) -> dict[str, Any]:
        self._move(sku, warehouse, delta)
        data = {"adjustment_id": self._number("ADJ"), "warehouse": warehouse,
                "lines": [{"line": 1, "sku": sku, "delta": delta, "reason_code": reason_code}]}
        return await self._emit("adjustment", data, webhook)

    async def snapshot(self, warehouse: str, *, webhook: bool = True) -> dict[str, Any]:
        lines = [{"sku": sku, "on_hand": qty, "available": qty}
                 for (sku, where), qty in sorted(self.stock.items()) if where == warehouse]
        data = {"warehouse": warehouse, "as_of": datetime.now(UTC).isoformat(), "lines": lines}
        return await self._emit("inventory_snapshot", data, webhook)

    async def _emit(self, event_type: str, data: dict[str, Any], webhook: bool) -> dict[str, Any]:
        item = self.feed.append(event_type, {k: v for k, v in data.items() if v is not None})
        if webhook:
            await self.send_webhook([item])
        return item

    def _move(self, sku: str, warehouse: str, delta: int) -> None:
        self.stock[(sku, warehouse)] = self.stock.get((sku, warehouse), 0) + delta

    def _number(self, prefix: str) -> str:
        return f"{prefix}-{next(self._numbers):06d}"

    # ---- the API the hub calls

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/transfer-requests", self._transfer_request)
        app.router.add_post("/v1/count-tasks", self._count_task)

    async def _transfer_request(self, request: web.Request) -> web.Response:
        return await self._create(request, self.transfers, "transfer_id", TRANSFER_FIELDS)

    async def _count_task(self, request: web.Request) -> web.Response:
        return await self._create(request, self.count_tasks, "task_id", COUNT_TASK_FIELDS)

    async def _create(self, request: web.Request, store: dict[str, dict[str, Any]], id_field: str,
                      required: Sequence[str]) -> web.Response:
        """Create a document once: the same document again is 200, a different one under the same id 409."""
        body = await read_json(request)
        missing = [f for f in required if body.get(f) in (None, "")]
        if missing:
            return error(422, f"missing field(s): {', '.join(missing)}")
        existing = store.get(str(body[id_field]))
        if existing is not None:
            if existing == body:
                return web.json_response({**existing, "status": "accepted"}, status=200)
            return error(409, f"{id_field} {body[id_field]} already exists with different content")
        store[str(body[id_field])] = body
        return web.json_response({**body, "status": "accepted"}, status=201)
