"""What the hooks know about items beyond the events: category and unit margin, from config."""

from __future__ import annotations

import fnmatch

from pydantic import BaseModel, ConfigDict, Field


class CategoryRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    match: str = Field(min_length=1, description="Glob over the SKU, e.g. 'SKU-1*'.")
    category: str = Field(min_length=1)
    unit_margin: float | None = Field(default=None, ge=0, description="Margin per unit in the reporting currency.")
    margin_rate: float | None = Field(default=None, ge=0, le=1, description="Margin as a fraction of price.")


class Catalog(BaseModel):
    """Categories by SKU glob (first match wins) with their margins; unknown SKUs fall in `default_category`."""

    model_config = ConfigDict(extra="forbid")

    categories: list[CategoryRule] = Field(default_factory=list)
    default_category: str = "all"
    default_unit_margin: float = Field(default=5.0, ge=0)
    default_margin_rate: float = Field(default=0.4, ge=0, le=1)

    def index(self) -> CatalogIndex:
        return CatalogIndex(self)


class CatalogIndex:
    """The catalog's answers per SKU, memoised in a plain dict: it is asked on the hot path."""

    __slots__ = ("_catalog", "_answers")

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._answers: dict[str, tuple[str, float, float]] = {}

    def category_of(self, sku: str) -> str:
        return self._answer(sku)[0]

    def unit_margin(self, sku: str) -> float:
        return self._answer(sku)[1]

    def margin_rate(self, sku: str) -> float:
        return self._answer(sku)[2]

    def _answer(self, sku: str) -> tuple[str, float, float]:
        answer = self._answers.get(sku)
        if answer is None:
            c = self._catalog
            rule = next((r for r in c.categories if fnmatch.fnmatchcase(sku, r.match)), None)
            answer = self._answers[sku] = (
                rule.category if rule else c.default_category,
                rule.unit_margin if rule and rule.unit_margin is not None else c.default_unit_margin,
                rule.margin_rate if rule and rule.margin_rate is not None else c.default_margin_rate)
        return answer
