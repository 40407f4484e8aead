"""A simulated commerce platform on loopback: availability per SKU and node, marketplace exposure holds,
and a feed of sales, returns and order reservations that it also sends to the hub as signed webhooks.

    peer = CommercePeer(token="t", webhook_url=hub_url, webhook_secret="s")
    peer.seed(skus=500, stores=20)
    await peer.start()
    await peer.sale("STORE-001", [("SKU-00001", 2)])
    peer.availability[("SKU-00001", "WEB-01")]
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sim.http_peer import HttpPeer, error, read_json

Lines = Sequence[tuple[str, int]]


@dataclass
class Hold:
    sku: str
    channel: str
    reason: str
    task_id: str


class CommercePeer(HttpPeer):
    """State a test can read: `availability[(sku, node)]` -> {"available", "channel"} (the latest write),
    `by_channel[(sku, node, channel)]` -> available, `holds[(sku, channel)]`."""

    feed_prefix = "evt"

    def __init__(self, *, token: str, **kwargs: Any) -> None:
        super().__init__(token=token, **kwargs)
        self.skus: set[str] = set()
        self.nodes: set[str] = set()
        self.availability: dict[tuple[str, str], dict[str, Any]] = {}
        self.holds: dict[tuple[str, str], Hold] = {}
        # The latest quantity per channel: a marketplace write must not hide what the web shop was told.
        self.by_channel: dict[tuple[str, str, str], int] = {}
        self.availability_writes = 0
        self.writes: list[dict[str, Any]] = []  # every accepted availability write, in order
        self._numbers = itertools.count(1)

    def seed(self, skus: int = 500, stores: int = 20, web_nodes: int = 1) -> None:
        """A catalogue of SKU-00001.. and nodes STORE-001.. plus WEB-01..; calls for others answer 404."""
        self.skus.update(f"SKU-{i:05d}" for i in range(1, skus + 1))
        self.nodes.update(f"STORE-{i:03d}" for i in range(1, stores + 1))
        self.nodes.update(f"WEB-{i:02d}" for i in range(1, web_nodes + 1))

    # ---- activity: each call adds a feed item and, unless told not to, sends it as a webhook

    async def sale(self, store: str, lines: Lines, *, webhook: bool = True) -> dict[str, Any]:
        data = {"transaction_id": f"TXN-{next(self._numbers):06d}", "store": store, "lines": _lines(lines)}
        return await self._emit("sale", data, webhook)

    async def return_(self, store: str, lines: Lines, *, restocked: bool = True, reason: str = "wrong_size",
                      order_id: str | None = None, webhook: bool = True) -> dict[str, Any]:
        data = {"return_id": f"RET-{next(self._numbers):06d}", "store": store, "order_id": order_id,
                "lines": [{**line, "reason": reason, "restocked": restocked} for line in _lines(lines)]}
        return await self._emit("return", data, webhook)

    async def reserve(self, order_id: str, node: str, lines: Lines, *, channel: str = "web",
                      webhook: bool = True) -> dict[str, Any]:
        return await self._emit("order.reserved", _order(order_id, node, lines, channel), webhook)

    async def cancel(self, order_id: str, node: str, lines: Lines, *, channel: str = "web",
                     webhook: bool = True) -> dict[str, Any]:
        return await self._emit("order.cancelled", _order(order_id, node, lines, channel), webhook)

    async def fulfil(self, order_id: str, node: str, lines: Lines, *, channel: str = "web",
                     webhook: bool = True) -> dict[str, Any]:
        return await self._emit("order.fulfilled", _order(order_id, node, lines, channel), webhook)

    async def simulate(self, count: int, rng: random.Random, *, webhook: bool = True) -> list[dict[str, Any]]:
        """`count` random sales, returns and reservations over the seeded catalogue (for the demo)."""
        skus, stores = sorted(self.skus), sorted(n for n in self.nodes if n.startswith("STORE-"))
        web_nodes = sorted(n for n in self.nodes if n.startswith("WEB-")) or stores
        items = []
        for _ in range(count):
            roll = rng.random()
            line = [(rng.choice(skus), rng.randint(1, 3))]
            if roll < 0.7:
                items.append(await self.sale(rng.choice(stores), line, webhook=webhook))
            elif roll < 0.8:
                items.append(await self.return_(rng.choice(stores), line, webhook=webhook))
            else:
                order = f"ORD-{next(self._numbers):06d}"
                items.append(await self.reserve(order, rng.choice(web_nodes), line, webhook=webhook))
        return items

    async def _emit(self, event_type: str, data: dict[str, Any], webhook: bool) -> dict[str, Any]:
        item = self.feed.append(event_type, {k: v for k, v in data.items() if v is not None})
        if webhook:
            await self.send_webhook([item])
        return item

    # ---- the API the hub calls

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_put("/v1/availability/{sku}/{node}", self._put_availability)
        app.router.add_get("/v1/availability/{sku}/{node}", self._get_availability)
        app.router.add_post("/v1/exposure/{sku}/{channel}/{action:hold|release}", self._exposure)

    async def _put_availability(self, request: web.Request) -> web.Response:
        sku, node = request.match_info["sku"], request.match_info["node"]
        unknown = self._unknown(sku, node)
        if unknown:
            return unknown
        body = await read_json(request)
        available = body.get("available")
        if not isinstance(available, int) or isinstance(available, bool) or available < 0:
            return error(422, f"available must be a non-negative integer, got {available!r}")
        record = {"sku": sku, "node": node, "available": available, "channel": str(body.get("channel", "web"))}
        self.availability[(sku, node)] = record
        self.by_channel[(sku, node, record["channel"])] = available
        self.availability_writes += 1
        self.writes.append(record)
        return web.json_response(record)

    async def _get_availability(self, request: web.Request) -> web.Response:
        record = self.availability.get((request.match_info["sku"], request.match_info["node"]))
        return web.json_response(record) if record else error(404, "no availability published")

    async def _exposure(self, request: web.Request) -> web.Response:
        sku, channel, action = (request.match_info[k] for k in ("sku", "channel", "action"))
        unknown = self._unknown(sku, None)
        if unknown:
            return unknown
        body = await read_json(request)
        if action == "hold":
            self.holds[(sku, channel)] = Hold(sku, channel, str(body.get("reason", "")), str(body.get("task_id", "")))
        else:
            self.holds.pop((sku, channel), None)
        return web.json_response({"sku": sku, "channel": channel, "held": (sku, channel) in self.holds})

    def _unknown(self, sku: str, node: str | None) -> web.Response | None:
        if self.skus and sku not in self.skus:
            return error(404, f"unknown sku {sku}")
        if node is not None and self.nodes and node not in self.nodes:
            return error(404, f"unknown node {node}")
        return None


def _lines(lines: Lines) -> list[dict[str, Any]]:
    return [{"line": n, "sku": sku, "quantity": qty} for n, (sku, qty) in enumerate(lines, start=1)]


def _order(order_id: str, node: str, lines: Lines, channel: str) -> dict[str, Any]:
    return {"order_id": order_id, "node": node, "channel": channel, "lines": _lines(lines)}
