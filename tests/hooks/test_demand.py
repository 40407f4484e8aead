from hub.hooks.demand import DemandHook, DemandParams
from hub.hooks.stats import count_z

from .factory import day_of_sales, sale, snapshot


def run(hook, state, events):
    return [r for r in (hook.score(e, state) for e in events) if r is not None]


def steady(hook, state, days=28, units=10, on_hand=500):
    results = []
    for d in range(days):
        results += run(hook, state, day_of_sales(d, units, on_hand))
    return results


def test_warmup_reports_insufficient_history_and_no_flag():
    hook = DemandHook(DemandParams(warmup_days=14))
    state = hook.new_state()
    results = run(hook, state, day_of_sales(0, 10) + day_of_sales(1, 40))
    assert all(r.reasons == ("insufficient_history",) and not r.flagged and r.action == "none" for r in results)


def test_a_steady_series_is_never_flagged():
    hook = DemandHook()
    state = hook.new_state()
    results = steady(hook, state, days=60)
    assert not [r for r in results if r.flagged]
    assert results[-1].score < 1.0


def test_spike_is_flagged_on_the_sale_that_passes_the_tail_with_its_evidence():
    hook = DemandHook()
    state = hook.new_state()
    steady(hook, state)
    first = hook.score(sale(28, 15, n=1), state)
    assert not first.flagged
    second = hook.score(sale(28, 25, n=2), state)
    assert second.reasons == ("demand_spike",)
    ev = second.evidence["demand_spike"]
    assert ev["observed"] == 40 and abs(ev["expected"] - 10) < 0.5 and ev["partial_day"] is True
    assert ev["history_days"] == 28 and ev["day"] == "2026-02-02"
    assert second.score == count_z(40, ev["expected"], ev["dispersion"])
    assert second.action == "review"


def test_score_is_monotone_and_does_not_saturate():
    hook = DemandHook()
    scores = []
    for units in (30, 60, 120, 1000, 100000):
        state = hook.new_state()
        steady(hook, state)
        scores.append(hook.score(sale(28, units), state).score)
    assert scores == sorted(scores) and scores[-1] > 10 * scores[1]


def test_spike_on_a_constrained_sku_recommends_holding_marketplace_exposure():
    hook = DemandHook()
    state = hook.new_state()
    steady(hook, state, on_hand=20)
    result = hook.score(sale(28, 40, on_hand_after=15), state)
    assert result.reasons == ("demand_spike",) and result.action == "hold_marketplace_exposure"


def test_drop_to_zero_is_flagged_at_day_close():
    hook = DemandHook()
    state = hook.new_state()
    steady(hook, state)
    result = hook.score(snapshot(28, 500), state)
    assert "demand_drop" in result.reasons and "zero_sales_run" in result.reasons
    assert result.evidence["demand_drop"]["observed"] == 0
    assert result.evidence["zero_sales_run"]["p_value"] < 1e-3


def test_days_without_any_event_close_as_zero_days():
    hook = DemandHook()
    state = hook.new_state()
    steady(hook, state)
    result = hook.score(sale(31, 10), state)  # days 28..30 had nothing at all
    days = {ev["day"] for ev in result.evidence.values()}
    assert "zero_sales_run" in result.reasons and "2026-02-04" in days


def test_level_shift_up_is_detected_within_days_and_the_level_moves():
    hook = DemandHook()
    state = hook.new_state()
    steady(hook, state, days=40)
    found = None
    for d in range(40, 50):
        for r in run(hook, state, day_of_sales(d, 20)):
            if "level_shift_up" in r.reasons and found is None:
                found = (d, r)
    assert found is not None and found[0] <= 46
    ev = found[1].evidence["level_shift_up"]
    assert ev["level_after"] > ev["level_before"] + 3


def test_level_shift_is_reported_from_detection_to_the_end_of_its_report_window():
    hook = DemandHook(DemandParams(shift_report_days=6))
    state = hook.new_state()
    steady(hook, state, days=40)
    flagged = {}
    for d in range(40, 60):
        for r in run(hook, state, day_of_sales(d, 20)):
            if "level_shift_up" in r.reasons:
                flagged[d] = r.evidence["level_shift_up"]
    detected = min(flagged)
    assert 40 < detected < 46
    assert flagged[detected]["onset_day"] == "2026-02-14"  # day 40, when the higher sales began
    assert sorted(flagged) == list(range(detected, 46))
    assert [flagged[d]["days_left_to_report"] for d in sorted(flagged)] == list(range(45 - detected, -1, -1))


def test_a_lone_empty_day_is_held_to_its_exact_chance_and_a_second_one_is_a_zero_run():
    hook = DemandHook()
    state = hook.new_state()
    steady(hook, state, units=6)
    # sqrt(2 * 6) = 3.46 < 3.5, although the square-root transform alone would call the empty day 3.8 sd low
    assert count_z(0, 6) < -hook.p.threshold
    first = hook.score(snapshot(28, 500), state)
    assert not first.flagged and first.score < hook.p.threshold
    second = hook.score(snapshot(29, 500), state)
    assert "zero_sales_run" in second.reasons and second.evidence["zero_sales_run"]["p_value"] < 1e-5


def test_day_of_week_factors_are_learnt():
    hook = DemandHook()
    state = hook.new_state()
    for d in range(89):  # Saturdays (d % 7 == 5 from a Monday) sell double
        run(hook, state, day_of_sales(d, 20 if d % 7 == 5 else 10))
    saturday = run(hook, state, day_of_sales(89, 20))
    assert not any(r.flagged for r in saturday)


def test_other_adjustments_only_update_on_hand():
    from .factory import at, event

    hook = DemandHook()
    state = hook.new_state()
    receipt = event("stock.adjusted", {"sku": "SKU-1", "location": "S1", "delta": 5, "reason": "receipt",
                                       "on_hand_after": 7}, at(0), "r1")
    assert hook.score(receipt, state) is None
    assert state.peek("SKU-1@S1")[8] == 7


def test_batch_form_gives_the_same_results_as_one_by_one():
    events = [e for d in range(30) for e in day_of_sales(d, 10 if d != 25 else 40)]
    one = DemandHook()
    single_state = one.new_state()
    singles = [one.score(e, single_state) for e in events]
    batch_state = one.new_state()
    assert one.score_batch(events, batch_state) == singles


# What each demand model version scores, pinned: a change of results must come with a new model_version
# (which also keeps snapshots of the old model from being restored into the new one).
PINNED_RESULTS = {"demand-1.1": "1da6870866965ac824867aa3"}


def test_a_model_versions_results_do_not_change():
    import hashlib
    import json

    from hub.hooks.sim_demand import demand_events, generate_demand

    hook = DemandHook()
    state = hook.new_state()
    digest = hashlib.sha256()
    for e in demand_events(generate_demand(5, items=16, days=140)):
        if e.type in hook.event_types and (r := hook.score(e, state)) is not None:
            digest.update(json.dumps([r.key, r.score, r.reasons, r.evidence, r.action, r.confidence]).encode())
    for key in sorted(state._values):
        digest.update(key.encode() + state._values[key][:-1].tobytes())
    assert digest.hexdigest()[:24] == PINNED_RESULTS[DemandHook.model_version]
