"""``synchealth classify``: classify Salesforce errors read from stdin, one JSON line each.

Input is one JSON document (pretty-printed is fine) or JSON Lines, one document
per line; each document is any shape :func:`tui.core.classify.iter_errors`
accepts. JSON Lines are processed as they arrive, so a pipe sees results at
once; a bad line stops the run with exit code 2 after the lines before it were
printed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO

import orjson

from tui.commands.say import say
from tui.config import ConfigError, configured_lang
from tui.core.catalog import load_catalog
from tui.core.classify import ClassifyInputError, classify, iter_errors
from tui.core.lang import LANGS, resolve_lang
from tui.profiles import add_config_argument


class _BadInput(Exception):
    """Input that cannot be read; ``str(err)`` names the line."""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "classify",
        help="classify Salesforce errors from stdin (JSON or JSON Lines)",
        description="Read Salesforce errors as JSON on stdin: a single error, a REST error "
        "array, sObject Collections results, or JSON Lines of those. Print one JSON object "
        "per error (type, subtype, title, sf_code, message, fields, cause, and the rule that "
        "decided with, for other.unknown, the reason), in input order.",
    )
    parser.add_argument(
        "--lang", choices=LANGS, help="language of the titles (default: config, then locale)"
    )
    add_config_argument(parser)


def _documents(stream: TextIO) -> Iterator[tuple[int, Any]]:
    """(line number, document) pairs: JSON Lines, or one document spread over many lines."""
    seen_document = False
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            document = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if seen_document:
                raise _BadInput(f"line {number}: not valid JSON ({exc.msg})") from exc
            yield number, _whole(number, line + stream.read())
            return
        seen_document = True
        yield number, document


def _whole(first: int, text: str) -> Any:
    """The rest of the input as one JSON document that starts on line ``first``."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        line = first + exc.lineno - 1
        raise _BadInput(
            f"line {line}, column {exc.colno}: not valid JSON ({exc.msg}); expected one JSON "
            "document or JSON Lines"
        ) from exc


def _report(error: Any, lang: str) -> bytes:
    result = classify(error)
    return orjson.dumps({
        "type": result.type,
        "subtype": result.subtype,
        "title": load_catalog().subtype(result.subtype).text(lang).title,
        "sf_code": result.sf_code,
        "message": result.message,
        "fields": result.fields,
        "cause": result.cause,
        "rule": result.rule,
        "reason": result.reason,
    })  # fmt: skip


def run(args: Any) -> int:
    try:
        lang = resolve_lang(args.lang, configured_lang(args.config))
    except ConfigError as exc:
        say("classify", str(exc))
        return 2
    out = sys.stdout
    try:
        for number, document in _documents(sys.stdin):
            try:
                errors = list(iter_errors(document))
            except ClassifyInputError as exc:
                raise _BadInput(f"line {number}: {exc}") from exc
            if errors:
                out.write(b"\n".join(_report(e, lang) for e in errors).decode() + "\n")
                out.flush()
    except _BadInput as exc:
        say("classify", str(exc))
        return 2
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as other filters do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0
