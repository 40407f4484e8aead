"""The scale-out benchmark end to end: two `hub up` processes share the partitions and drain every event."""

from __future__ import annotations

import pytest

from bench import scale_out


@pytest.mark.slow
async def test_one_and_two_workers_drain_every_event():
    results = await scale_out.run(2_000, (1, 2))
    assert results["scale_1_worker_events_per_s"] > 0
    assert results["scale_2_worker_events_per_s"] > 0
    assert results["scale_2_vs_1"] == pytest.approx(
        results["scale_2_worker_events_per_s"] / results["scale_1_worker_events_per_s"])
