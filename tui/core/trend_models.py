"""Shapes of the daily figures API (``GET /v1/trends``): a series per day, its totals, the
cards' sparklines."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class TrendDay(BaseModel):
    day: date = Field(description="A UTC day.")
    new: int = Field(description="Errors first seen that day.")
    resolved: int
    recurring: int = Field(description="Resolved errors failing again that day.")
    open: int = Field(description="Errors still open at the end of the day.")


class TrendTotals(BaseModel):
    """Everything counted since the figures began; ``open`` is the open count now."""

    new: int
    resolved: int
    recurring: int
    open: int


class TrendPage(BaseModel):
    """``GET /v1/trends``: one series (all errors, a type or a cause), oldest day first."""

    type: str | None = None
    cause: str | None = None
    days: list[TrendDay]
    totals: TrendTotals


class TypeTrends(BaseModel):
    """``GET /v1/trends/types``: new errors per day of each type (the cards' sparklines)."""

    days: list[date] = Field(description="Oldest first.")
    new: dict[str, list[int]] = Field(description="Type -> new errors on each of ``days``.")
