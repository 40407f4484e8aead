"""Every sample file in the corpus maps to the canonical events (and errors) recorded beside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from canonical import parse_event
from connectors.edi_3pl.mapping import Partner
from connectors.edi_3pl.translate import translate
from tests.edi.conftest import CORPUS

SAMPLES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and not p.name.endswith(".json"))
PARTNER = Partner("acme", supplier="SUP-ACME", location="3PL-WEST")


def test_the_corpus_covers_every_supported_document() -> None:
    types = {ic_doc for p in SAMPLES for ic in translate(p.read_bytes(), PARTNER).interchanges
             for ic_doc in (d.type for d in ic.documents)}
    assert types == {"846", "856", "944", "945", "947", "855", "180", "997", "850", "940",
                     "INVRPT", "DESADV", "RECADV", "ORDRSP", "SLSRPT", "ORDERS", "CONTRL"}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_sample_maps_to_expected_events(sample: Path) -> None:
    expected = json.loads(Path(f"{sample}.expected.json").read_text())
    translation = translate(sample.read_bytes(), PARTNER)
    assert translation.standard == expected["standard"]
    assert translation.encoding == expected["encoding"]
    assert [ic.status for ic in translation.interchanges] == expected["status"]
    events = [{k: e[k] for k in ("type", "subject", "time", "idempotency_key", "data")} for e in translation.events]
    assert events == expected["events"]
    assert [e.as_dict() for e in translation.errors] == expected["errors"]
    for event in translation.events:
        assert parse_event(event).type == event["type"]  # each one fits the canonical model


def test_same_file_gives_same_ids_and_keys() -> None:
    raw = (CORPUS / "x12" / "846_inventory_crlf.x12").read_bytes()
    first, second = translate(raw, PARTNER).events, translate(raw, PARTNER).events
    assert [(e["id"], e["idempotency_key"]) for e in first] == [(e["id"], e["idempotency_key"]) for e in second]
    assert len({e["idempotency_key"] for e in first}) == len(first)
