"""The benchmark suite at tiny sizes: every section runs on a real nats-server and yields its figures."""

from __future__ import annotations

import json

import pytest

from bench import suite
from bench.__main__ import main

TINY = suite.Sizes(rounds=1, two_hop_events=600, faststream_events=150, latency_seconds=1.0, scale_events=0,
                   edi_quick=True)
REQUIRED = ("pipeline_events_per_s", "raw_two_hop_events_per_s", "faststream_per_message_events_per_s",
            "pipeline_vs_raw", "pipeline_vs_faststream", "p50_ms", "p99_ms", "x12_vs_pyx12",
            "edifact_vs_pydifact", "hook_events_per_s", "rss_mb_100k_keys")


def test_every_required_figure_is_measured_and_written(tmp_path, monkeypatch):
    monkeypatch.setattr(suite, "QUICK", TINY)
    monkeypatch.setattr("bench.__main__.use_uvloop", lambda: None)  # the event loop policy is process-wide
    out = tmp_path / "results.json"
    code = main(["--quick", "--out", str(out)])
    results = json.loads(out.read_text())
    assert code == 0, results["failed_sections"]
    missing = [key for key in REQUIRED if not isinstance(results.get(key), int | float)]
    assert not missing, f"not measured: {missing}"
    assert all(results[key] > 0 for key in REQUIRED)
    assert results["p50_ms"] <= results["p99_ms"]
    assert results["pipeline_vs_raw"] == pytest.approx(
        results["pipeline_events_per_s"] / results["raw_two_hop_events_per_s"], rel=1e-3)


def test_table_marks_aims_met_missed_and_unmeasured():
    text = suite.table({"pipeline_vs_raw": 0.5, "p99_ms": 12.0}, {"AI hooks": "RuntimeError: boom"})
    lines = {line.split()[0]: line for line in text.splitlines()[1:] if line and not line.startswith("section")}
    assert lines["pipeline_vs_raw"].endswith("NOT MET")
    assert lines["p99_ms"].endswith("met") and "NOT" not in lines["p99_ms"]
    assert "not measured" in lines["hook_events_per_s"]
    assert "section failed: AI hooks: RuntimeError: boom" in text


async def test_a_failed_faststream_run_leaves_the_rounds_other_figures(monkeypatch):
    async def broken(events: int) -> dict[str, float]:
        raise ConnectionError("FastStream could not connect")

    monkeypatch.setattr(suite.faststream_two_hop, "run", broken)
    said: list[str] = []
    figures = await suite._two_hops(TINY, said.append)
    assert figures["pipeline_events_per_s"] > 0 and figures["raw_two_hop_events_per_s"] > 0
    assert figures["pipeline_vs_raw"] > 0
    assert "faststream_per_message_events_per_s" not in figures and "pipeline_vs_faststream" not in figures
    assert any("FastStream could not connect" in line for line in said)
