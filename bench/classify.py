"""Classifier speed: ``tui.data.classify.classify`` on simple status codes, errors/s.

The reference, measured in the same run on the same errors, is a bare dict lookup of each
error's status code (what any classifier pays at least: reading the mapping). The figure
moved here from the test suite, which asserts behaviour, not timings.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tui.data.classify import classify

ERRORS: list[dict[str, Any]] = [
    {"statusCode": "STRING_TOO_LONG", "message": "Name: data value too large", "fields": ["Name"]},
    {
        "statusCode": "REQUIRED_FIELD_MISSING",
        "message": "Required fields are missing: [LastName]",
        "fields": ["LastName"],
    },
] * 50_000


def rate(work: Callable[[dict[str, Any]], object]) -> float:
    """Errors/s of ``work`` over ERRORS, best of 3."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for error in ERRORS:
            work(error)
        best = min(best, time.perf_counter() - start)
    return len(ERRORS) / best


def main() -> None:
    table = {"STRING_TOO_LONG": "property_value", "REQUIRED_FIELD_MISSING": "property_value"}
    reference = rate(lambda error: table.get(error["statusCode"]))
    classified = rate(classify)
    print(f"dict lookup of the status code (reference): {reference:,.0f} errors/s")
    print(f"classify:                                    {classified:,.0f} errors/s")
    print(f"classify takes {reference / classified:.1f}x the reference per error")


if __name__ == "__main__":
    main()
