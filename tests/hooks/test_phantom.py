from hub.hooks.phantom import PhantomHook

from .factory import at, day_of_sales, event, sale, snapshot


def history(hook, state, days=30, units=5, on_hand=40):
    for d in range(days):
        for e in day_of_sales(d, units, on_hand):
            hook.score(e, state)


def test_silence_with_stock_on_record_becomes_phantom_suspicion_with_a_recount():
    hook = PhantomHook()
    state = hook.new_state()
    history(hook, state)
    flagged = []
    for d in range(30, 40):
        result = hook.score(snapshot(d, 20), state)
        if result.flagged:
            flagged.append((d, result))
    first_day, first = flagged[0]
    assert first_day == 31  # two silent days at ~5/day: p = e^-10, far past 1e-3; one day (e^-5) is not
    assert first.reasons == ("phantom_stock_suspected",) and first.action == "recount"
    ev = first.evidence["phantom_stock_suspected"]
    assert ev["record_on_hand"] == 20 and ev["days_without_sale"] == 2 and abs(ev["daily_rate"] - 5) < 0.2
    assert [d for d, _ in flagged] == list(range(31, 40))
    scores = [r.score for _, r in flagged]
    assert scores == sorted(scores)


def test_silence_is_not_suspicious_when_the_record_is_empty_or_the_item_is_slow():
    hook = PhantomHook()
    state = hook.new_state()
    history(hook, state)
    assert not any(hook.score(snapshot(d, 0), state).flagged for d in range(30, 40))
    slow = hook.new_state()
    for d in range(0, 60, 10):  # one sale every ten days
        hook.score(sale(d, 1), slow)
    assert not hook.score(snapshot(65, 3), slow).flagged


def test_a_sale_ends_the_suspicion():
    hook = PhantomHook()
    state = hook.new_state()
    history(hook, state)
    assert hook.score(snapshot(33, 20), state).flagged
    hook.score(sale(34, 2), state)
    assert not hook.score(snapshot(34, 18), state).flagged


def test_cycle_count_disagreeing_with_the_record_is_a_mismatch_and_resets_the_silence():
    hook = PhantomHook()
    state = hook.new_state()
    history(hook, state)
    count = event("cycle_count.recorded", {"sku": "SKU-1", "location": "S1", "counted": 0, "recorded": 20},
                  at(33, 8), "count-1")
    result = hook.score(count, state)
    assert result.reasons == ("count_mismatch",)
    assert result.evidence["count_mismatch"] == {"day": "2026-02-07", "observed": 0, "expected": 20,
                                                 "difference": -20}
    assert not hook.score(snapshot(33, 0), state).flagged
    small = event("cycle_count.recorded", {"sku": "SKU-1", "location": "S1", "counted": 19, "recorded": 20},
                  at(34, 8), "count-2")
    assert not hook.score(small, state).flagged


def test_transfer_receipt_short_of_expected_is_a_mismatch():
    hook = PhantomHook()
    state = hook.new_state()
    received = event("transfer.received", {"sku": "SKU-1", "location": "S1", "transfer_id": "T1",
                                           "quantity_expected": 24, "quantity_received": 12}, at(3), "tr-1")
    result = hook.score(received, state)
    assert result.reasons == ("receipt_mismatch",) and result.action == "recount"
    assert result.evidence["receipt_mismatch"]["difference"] == -12
