from collections import Counter

import pytest

from canonical import validate_data
from hub.hooks.sim_demand import MIN_DAYS, demand_events, generate_demand
from hub.hooks.sim_inventory import inventory_events, simulate_inventory


def test_demand_stream_is_seeded_and_labelled():
    a, b, c = generate_demand(7, 40, 200), generate_demand(7, 40, 200), generate_demand(8, 40, 200)
    assert [s.sales for s in a] == [s.sales for s in b] and [s.sales for s in a] != [s.sales for s in c]
    labels = Counter(lab for s in a for lab in s.labels)
    assert {"spike", "drop"} <= set(labels) and labels[None] > 0.8 * 40 * 200
    spike_days = [(s, d) for s in a for d, lab in enumerate(s.labels) if lab == "spike"]
    ratio = sum(s.sales[d] for s, d in spike_days) / max(1, sum(s.sales[d - 1] + s.sales[d - 7] for s, d in spike_days) / 2)
    assert ratio > 2
    drops = [s.sales[d] for s in a for d, lab in enumerate(s.labels) if lab == "drop"]
    assert drops and set(drops) == {0}
    assert any(any(s.return_labels) for s in a)


def test_demand_simulation_refuses_too_short_a_run():
    with pytest.raises(ValueError, match=f"at least {MIN_DAYS} days"):
        generate_demand(1, 5, 60)


def test_inventory_truth_is_empty_shelf_with_positive_record():
    traces = simulate_inventory(3, 60, 200)
    assert traces[0].events == simulate_inventory(3, 60, 200)[0].events
    phantom_days = sum(sum(t.phantom) for t in traces)
    assert 0 < phantom_days < 0.5 * 60 * 200
    kinds = Counter(kind for t in traces for _, kind, _ in t.events)
    assert kinds["cycle_count.recorded"] > 60 and kinds["receipt.confirmed"] > 60


def test_simulated_events_are_valid_canonical_events():
    events = [*demand_events(generate_demand(1, 5, MIN_DAYS)), *inventory_events(simulate_inventory(1, 5, 120))]
    for event in events[::50]:
        assert validate_data(event.type, 1, event.data)
    demand_only = list(demand_events(generate_demand(1, 5, MIN_DAYS)))
    assert [e.time.date() for e in demand_only] == sorted(e.time.date() for e in demand_only)
