"""The status page in headless Chromium: it loads, its numbers follow the events, and the replay button works."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub import bus, dlq
from hub.natsserver import free_port
from hub.testing import wait_until
from hub.web.streams import read_recent

from .conftest import StatusHub

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed "
                                                                "(apt-get install -y chromium)")
_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def dump_dom(url: str, profile: Path) -> str:
    run = subprocess.run([str(CHROMIUM), *_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=3000",
                          "--dump-dom", url], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def shown(dom: str, element_id: str) -> int:
    match = re.search(rf'id="{element_id}">([\d,]+)<', dom)
    assert match, f"#{element_id} not on the page"
    return int(match[1].replace(",", ""))


def test_the_page_loads_and_its_numbers_follow_the_events(status_hub: StatusHub, tmp_path):
    status_hub.send_adjustments(25, "P1")
    wait_until(lambda: status_hub.status()["counters"].get("hub_delivered_total", 0) >= 25, timeout=20,
               what="the first events delivered")
    first = dump_dom(status_hub.url, tmp_path / "profile")
    before = status_hub.status()["counters"]["hub_events_total"]
    status_hub.send_adjustments(30, "P2")
    wait_until(lambda: status_hub.status()["counters"]["hub_events_total"] >= before + 30, timeout=20,
               what="30 more events")
    second = dump_dom(status_hub.url, tmp_path / "profile")
    assert shown(second, "events-total") >= shown(first, "events-total") + 30
    assert shown(second, "delivered-total") > shown(first, "delivered-total")
    for dom in (first, second):
        assert 'data-connector="inbox"' in dom and 'data-connector="outbox"' in dom
        assert '<span class="badge ok">ready</span>' in dom and 'id="updated">updated ' in dom


class DevTools:
    """A small Chrome DevTools Protocol client over aiohttp's websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._next = 0

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next += 1
        await self.ws.send_json({"id": self._next, "method": method, "params": params})
        async for message in self.ws:
            reply = json.loads(message.data)
            if reply.get("id") == self._next:
                assert "error" not in reply, reply
                return reply["result"]
        raise AssertionError(f"DevTools closed during {method}")

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = await self.evaluate(expression)
            if value:
                return value
            await asyncio.sleep(0.2)
        raise AssertionError(f"timed out waiting for {expression}")

    async def click(self, x: float, y: float) -> None:
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            await self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)


async def devtools(url: str, profile: Path) -> AsyncIterator[DevTools]:
    port = free_port()
    browser = subprocess.Popen([str(CHROMIUM), *_FLAGS, f"--user-data-dir={profile}",
                                f"--remote-debugging-port={port}", "--remote-debugging-address=127.0.0.1",
                                "--window-size=1400,1800", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async with aiohttp.ClientSession() as session:
            target = await _page_target(session, port)
            async with session.ws_connect(target, max_msg_size=0) as ws:
                tools = DevTools(ws)
                await tools.call("Page.navigate", url=url)
                yield tools
    finally:
        browser.terminate()
        try:
            browser.wait(10)
        except subprocess.TimeoutExpired:
            browser.kill()
            browser.wait(10)


async def _page_target(session: aiohttp.ClientSession, port: int) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
                pages = [t for t in await response.json() if t["type"] == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError("chromium's DevTools did not answer")


async def test_the_replay_button_replays_that_dead_letter(status_hub: StatusHub, tmp_path):
    status_hub.send_returns(2, "B")
    wait_until(lambda: (status_hub.status()["dead_letters"] or {}).get("depth", 0) >= 2, timeout=20,
               what="dead letters on the page")
    async for tools in devtools(status_hub.url, tmp_path / "profile"):
        letter_id = await tools.wait_for("document.querySelector('button.replay-letter')?.dataset.id")
        box = await tools.evaluate("(() => { const b = document.querySelector('button.replay-letter');"
                                   " b.scrollIntoView(); const r = b.getBoundingClientRect();"
                                   " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        await tools.click(*box)
        assert await tools.wait_for("document.body.dataset.lastReplay") == "1"
        flash = await tools.evaluate("document.getElementById('flash').textContent")
        break
    assert flash == "replayed 1 dead letter(s)"
    b = await bus.connect(status_hub.nats_url)
    try:
        assert letter_id not in {letter.id async for letter in dlq.iterate(b.js)}
        replays = [json.loads(m.data) for m in await read_recent(b.js, bus.AUDIT, "audit.replay")]
    finally:
        await b.close()
    assert [r["connector"] for r in replays if r["dead_letter"] == letter_id] == ["web"]


