"""Helpers for the core tests: configs in a temp folder, events, and reading what was delivered."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from canonical.examples import example_event

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def copy_example(name: str, dest: Path, replace: dict[str, str] | None = None, append: str = "") -> Path:
    target = dest / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns(".hub", "inbox", "outbox"))
    config = target / "hub.toml"
    text = config.read_text()
    for old, new in (replace or {}).items():
        text = text.replace(old, new)
    config.write_text(text + append)
    return config


def adjustments(count: int, items: int = 50, prefix: str = "T") -> list[dict[str, Any]]:
    """`count` stock.adjusted events over `items` SKUs; `delta` counts up per SKU, so order is checkable."""
    out = []
    per_item: dict[str, int] = {}
    for i in range(count):
        sku = f"{prefix}-SKU-{i % items}"
        seq = per_item[sku] = per_item.get(sku, 0) + 1
        event = example_event("stock.adjusted").model_dump(mode="json")
        event["id"] = f"{prefix}-{i}"
        event["idempotency_key"] = f"{prefix}-key-{i}"
        event["subject"] = f"{sku}@STORE-001"
        event["data"].update(sku=sku, delta=seq)
        out.append(event)
    return out


def write_ndjson(path: Path, events: list[dict[str, Any]]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(e) + "\n" for e in events))
    tmp.rename(path)


def read_ndjson(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    complete = path.read_text().split("\n")[:-1]  # a line still being written has no newline yet
    return [json.loads(line) for line in complete if line.strip()]


def assert_per_item_order(delivered: list[dict[str, Any]]) -> None:
    last: dict[str, int] = {}
    for event in delivered:
        sku, delta = event["data"]["sku"], event["data"]["delta"]
        assert delta > last.get(sku, 0), f"{sku}: delta {delta} arrived after {last[sku]}"
        last[sku] = delta
