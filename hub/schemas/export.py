"""`hub schemas export DIR`: one JSON Schema file per type and version, and the AsyncAPI document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from nats.js.kv import KeyValue

from canonical.json_schemas import DRAFT_2020_12, all_data_schemas, envelope_schema, schema_id
from hub.dlq import DeadLetter
from hub.schemas import registry
from hub.schemas.asyncapi import DEAD_LETTER_FILE, ENVELOPE_FILE, asyncapi_document, schema_file


async def export(directory: Path, kv: KeyValue | None = None) -> list[Path]:
    """Write the code's schemas (and the registry's partner and custom ones when `kv` is given); returns the files."""
    files: dict[str, dict[str, Any]] = {schema_file(t, v): s for (t, v), s in all_data_schemas().items()}
    if kv is not None:
        for summary in await registry.list_types(kv):
            if summary.origin == registry.CUSTOM:
                for version in summary.versions:
                    record = await registry.show(kv, summary.event_type, version)
                    files[schema_file(summary.event_type, version)] = {
                        "$id": schema_id(summary.event_type, version), **record.schema}
    files[ENVELOPE_FILE] = envelope_schema()
    files[DEAD_LETTER_FILE] = {"$schema": DRAFT_2020_12, "$id": "urn:hub:schema:dead-letter",
                               **DeadLetter.model_json_schema(mode="serialization")}
    files["asyncapi.json"] = asyncapi_document()
    written = []
    for name, document in sorted(files.items()):
        path = directory / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
        except OSError as exc:
            raise OSError(f"exporting schemas: writing {path}: {exc.strerror}") from None
        written.append(path)
    return written
