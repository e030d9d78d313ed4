"""Every shape a Salesforce error comes in (one error, the REST error array, sObject
Collections results) as a stream of error mappings (:func:`iter_errors`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class ClassifyInputError(ValueError):
    """The input is not a Salesforce error, error array or record result."""


def _kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if isinstance(value, int | float) else "a value")


def _is_error(item: Mapping[str, Any]) -> bool:
    return "errorCode" in item or "statusCode" in item


def _errors_of(item: Mapping[str, Any], where: str) -> Iterator[Mapping[str, Any]]:
    if "success" in item:
        if not isinstance(item["success"], bool):
            raise ClassifyInputError(f"{where}: 'success' must be true or false")
        if item["success"]:
            return
        errors = item.get("errors")
        if not isinstance(errors, list) or not errors:
            raise ClassifyInputError(
                f"{where}: a failed record result needs a non-empty 'errors' array"
            )
        for n, error in enumerate(errors):
            if not isinstance(error, Mapping) or not _is_error(error):
                raise ClassifyInputError(
                    f"{where}: errors[{n}] is not an error with a statusCode or errorCode"
                )
        yield from errors
    elif _is_error(item):
        yield item
    else:
        raise ClassifyInputError(
            f"{where} is neither a Salesforce error (errorCode or statusCode) "
            "nor a record result (success, errors)"
        )


def iter_errors(doc: object) -> Iterator[Mapping[str, Any]]:
    """Every error in ``doc``, in order.

    Accepted shapes: one error object; the REST error array
    ``[{"message", "errorCode", "fields"}]``; one sObject Collections result
    ``{"id", "success", "errors": [{"statusCode", ...}]}`` or an array of them
    (successes yield nothing). Anything else raises :class:`ClassifyInputError`.
    """
    if isinstance(doc, Mapping):
        yield from _errors_of(doc, "the object")
    elif isinstance(doc, list):
        for n, item in enumerate(doc):
            if not isinstance(item, Mapping):
                raise ClassifyInputError(
                    f"array item {n} is {_kind(item)}, expected an error or a record result"
                )
            yield from _errors_of(item, f"array item {n}")
    else:
        raise ClassifyInputError(
            f"expected a JSON object or array of Salesforce errors, got {_kind(doc)}"
        )
