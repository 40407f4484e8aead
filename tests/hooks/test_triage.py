from hub.hooks.triage import TriageHook

from .factory import at, day_of_sales, event


def trained(units_per_day=5, on_hand=100, days=40, sku="SKU-1", location="S1"):
    hook = TriageHook()
    state = hook.new_state()
    for d in range(days):
        for e in day_of_sales(d, units_per_day, on_hand, sku=sku, location=location):
            hook.score(e, state)
    return hook, state


def receipt(expected, received, event_id="rcv"):
    return event("receipt.confirmed", {"receipt_id": "RCV-1", "location": "S1", "lines": [
        {"sku": "SKU-1", "quantity_expected": expected, "quantity_received": received}]}, at(40), event_id)


def test_a_small_shortfall_with_plenty_on_hand_is_auto_resolved():
    hook, state = trained(on_hand=100)
    result = hook.score(receipt(20, 18), state)
    assert result.action == "auto_resolve" and result.reasons == ("margin_at_risk", "service_level_risk")
    assert result.evidence["service_level_risk"]["stockout_chance_increase"] < 0.01
    assert result.confidence > 0.7


def test_a_big_shortfall_on_low_stock_is_escalated_with_the_recommended_action():
    hook, state = trained(on_hand=5)
    result = hook.score(receipt(40, 0), state)
    assert result.action == "escalate" and result.details["recommended_action"] == "expedite_replenishment"
    assert result.evidence["service_level_risk"]["stockout_chance_increase"] > 0.5
    assert result.evidence["margin_at_risk"]["margin_at_risk"] > 50
    assert result.details["shortfall_units"] == 40


def test_without_history_even_a_small_shortfall_is_escalated():
    hook = TriageHook()
    result = hook.score(receipt(20, 19), hook.new_state())
    assert result.action == "escalate" and result.confidence == 0.0


def test_a_full_receipt_says_nothing():
    hook, state = trained()
    assert hook.score(receipt(20, 20), state) is None


def test_cancelled_order_lines_are_shortfalls():
    hook, state = trained(on_hand=5)
    po = event("purchase_order.changed", {"po_number": "PO-1", "status": "cancelled", "supplier": "SUP",
                                          "location": "S1", "lines": [{"line": 1, "sku": "SKU-1", "quantity": 30}]},
               at(40), "po-1")
    assert hook.score(po, state).action == "escalate"


def test_a_transfer_to_a_location_about_to_run_out_is_reprioritised():
    hook, state = trained(on_hand=3, location="S2")
    transfer = event("transfer.requested", {"sku": "SKU-1", "location": "DC", "to_location": "S2",
                                            "transfer_id": "T1", "quantity": 24, "priority": 3}, at(40), "t-1")
    result = hook.score(transfer, state)
    assert result.action == "reprioritise_transfer" and result.details["priority"] == 1
    assert result.evidence["transfer_destination_at_risk"]["stockout_chance"] > 0.9
    calm, calm_state = trained(on_hand=200, location="S2")
    assert calm.score(transfer, calm_state).action == "none"
