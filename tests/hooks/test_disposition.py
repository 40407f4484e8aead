import pytest

from hub.hooks.catalog import Catalog, CategoryRule
from hub.hooks.disposition import DispositionHook

from .factory import at, day_of_sales, event

CATALOG = Catalog(categories=[CategoryRule(match="CHEAP-*", category="bargain", margin_rate=0.1)])


def returned(sku, condition="new", reason="changed_mind"):
    return event("return.received", {"sku": sku, "location": "S1", "return_id": "R1", "quantity": 2,
                                     "reason_code": reason, "condition": condition}, at(40, 18), f"ret-{sku}")


def hook_with(sku, units_per_day, on_hand):
    hook = DispositionHook(catalog=CATALOG)
    state = hook.new_state()
    for d in range(40):
        for e in day_of_sales(d, units_per_day, on_hand, sku=sku):
            hook.score(e, state)
    return hook, state


@pytest.mark.parametrize(("sku", "rate", "on_hand", "condition", "reason", "row", "disposition"), [
    ("CHEAP-1", 2, 20, "damaged", "changed_mind", "R1", "liquidate"),
    ("GOOD-1", 2, 20, "new", "defective", "R2", "route_to_dc"),
    ("GOOD-1", 2, 20, "opened", "changed_mind", "R3", "discount"),
    ("GOOD-1", 0, 20, "opened", "changed_mind", "R4", "route_to_dc"),
    ("CHEAP-1", 1, 100, "new", "changed_mind", "R5", "liquidate"),
    ("GOOD-1", 1, 100, "new", "changed_mind", "R6", "route_to_dc"),
    ("GOOD-1", 2, 10, "new", "changed_mind", "R7", "restock"),
    ("GOOD-1", 1, 21, "new", "changed_mind", "R8", "restock"),
])
def test_decision_table_rows(sku, rate, on_hand, condition, reason, row, disposition):
    hook, state = hook_with(sku, rate, on_hand)
    result = hook.score(returned(sku, condition, reason), state)
    assert (result.details["table_row"], result.details["disposition"]) == (row, disposition)
    assert result.action == "route_return" and result.score == 2.0
    inputs = next(iter(result.evidence.values()))
    assert inputs["table_row"] == row and inputs["condition"] == condition
    assert result.details["destination"] == ("DC-01" if disposition == "route_to_dc" else "S1")


def test_every_row_explains_itself_with_listed_reasons():
    hook, state = hook_with("GOOD-1", 2, 10)
    result = hook.score(returned("GOOD-1"), state)
    assert result.reasons == ("cover_low",)
    assert result.evidence["cover_low"]["weeks_of_cover"] == pytest.approx(10 / 14, abs=0.05)
