from hub.hooks.catalog import Catalog, CategoryRule
from hub.hooks.return_rate import ReturnRateHook

from .factory import at, event, sale

CATALOG = Catalog(categories=[CategoryRule(match="TEE-*", category="tees")])


def returned(day, sku, n):
    return event("return.received", {"sku": sku, "location": "S1", "return_id": f"R-{sku}-{day}-{n}",
                                     "quantity": 1, "reason_code": "changed_mind"}, at(day, 18, n), f"ret-{sku}-{day}-{n}")


def test_an_item_returned_far_above_its_category_rate_is_flagged():
    hook = ReturnRateHook(catalog=CATALOG)
    state = hook.new_state()
    results = {}
    for day in range(20):
        for i in range(10):
            sku = f"TEE-{i}"
            hook.score(sale(day, 10, sku=sku), state)
            # every item returns 1 of 20 sold, except TEE-9 which returns 4 a day from day 10
            count = 4 if sku == "TEE-9" and day >= 10 else (1 if day % 2 == 0 else 0)
            for n in range(count):
                results[(sku, day)] = hook.score(returned(day, sku, n), state)
    normal = [r for (sku, _), r in results.items() if sku != "TEE-9"]
    assert not any(r.flagged for r in normal)
    bad = [r for (sku, day), r in results.items() if sku == "TEE-9" and day >= 14]
    assert all(r.flagged for r in bad)
    ev = bad[-1].evidence["return_rate_high"]
    assert ev["category"] == "tees" and ev["observed"] > 3 * ev["expected"]
    assert 0.04 < ev["category_rate"] < 0.1 and bad[-1].key == "TEE-9"


def test_returns_without_sales_history_are_judged_against_the_prior():
    hook = ReturnRateHook(catalog=CATALOG)
    state = hook.new_state()
    result = hook.score(returned(0, "TEE-1", 0), state)
    assert not result.flagged and result.confidence == 0.0
