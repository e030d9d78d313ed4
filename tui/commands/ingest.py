"""``synchealth ingest FILE|-``: report failed records from a JSON Lines file to the service.

One item per line, in the shape of ``POST /v1/errors`` (docs/api.md); blank lines are
skipped, a line that is not JSON is reported and not sent. Items go in batches of at
most 500 (and 4 MB), each with a batch_id made from the content and the line range of
its lines, so running the same file again (after a crash, or to be sure) counts no
failure twice. The summary goes to stderr. Exit status: 0 when every item was
accepted, 1 when some were rejected, 2 on a usage error, an unreadable file or a
service that cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from tui.i18n import counted
from tui.profiles import ServiceTarget, add_service_arguments

BATCH_ITEMS = 500
#: Raw bytes of lines per batch: under the service's 5 MB body limit with room to spare.
BATCH_BYTES = 4 * 1024 * 1024


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ingest",
        help="report failed records to the service from a JSON Lines file",
        description="Send the failed records of a JSON Lines file (one POST /v1/errors item "
        "per line, see docs/api.md) to the Sync Health service, in batches. Running the "
        "same file again counts nothing twice. Prints a summary, with the line number and "
        "reason of every rejected item, on stderr.",
    )
    parser.add_argument("file", metavar="FILE", help="the JSON Lines file, or - for stdin")
    add_service_arguments(parser)


def _say(message: str) -> None:
    print(f"synchealth ingest: {message}", file=sys.stderr)


@dataclass
class Batch:
    """Items of consecutive lines, and the id that makes re-sending them harmless."""

    lines: list[int] = field(default_factory=list)
    items: list[Any] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    size: int = 0

    @property
    def batch_id(self) -> str:
        digest = hashlib.sha256(b"\n".join(self.raw)).hexdigest()[:32]
        return f"jsonl-{digest}-L{self.lines[0]}-{self.lines[-1]}"

    def add(self, line: int, raw: bytes, item: Any) -> None:
        self.lines.append(line)
        self.raw.append(raw)
        self.items.append(item)
        self.size += len(raw)


@dataclass
class Summary:
    items: int = 0
    accepted: int = 0
    created: int = 0
    repeated: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    replayed: list[str] = field(default_factory=list)

    def lines(self, source: str) -> Iterator[str]:
        yield (
            f"{source}: {counted(self.items, 'item')}: {self.accepted:,} accepted "
            f"({counted(self.created, 'new error')}, {counted(self.repeated, 'repeat')} of known "
            f"errors), {len(self.rejected):,} rejected"
        )
        for span in self.replayed:
            yield f"lines {span} had been ingested before; they were not counted again"
        for line, reason in sorted(self.rejected):
            yield f"line {line}: {reason}"


def batches(data: bytes, summary: Summary) -> Iterator[Batch]:
    """The file's items in batches; lines that are not JSON go to ``summary.rejected``."""
    batch = Batch()
    for number, raw in enumerate(data.removeprefix(b"\xef\xbb\xbf").split(b"\n"), 1):
        line = raw.strip()
        if not line:
            continue
        summary.items += 1
        if len(line) > BATCH_BYTES:
            summary.rejected.append((number, "the line is larger than a batch may be (4 MB)"))
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            summary.rejected.append((number, f"not valid JSON ({exc.msg})"))
            continue
        if batch.items and (
            len(batch.items) >= BATCH_ITEMS or batch.size + len(line) > BATCH_BYTES
        ):
            yield batch
            batch = Batch()
        batch.add(number, line, item)
    if batch.items:
        yield batch


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as handle:
        return handle.read()


async def _send_all(data: bytes, target: ServiceTarget, demo_size: int, summary: Summary) -> str:
    """Send every batch; "" when all went, else why the rest could not be sent."""
    from tui.data.client import ServiceClient, ServiceError, ServiceRejected

    embedded = None
    if target.url is None:
        from tui.data.embedded import start_embedded

        embedded = await start_embedded(demo_size)
        client = ServiceClient(embedded.base_url, transport=embedded.transport)
    else:
        client = ServiceClient(target.url, target.token_value)
    try:
        for batch in batches(data, summary):
            try:
                result = await client.ingest(batch.items, batch_id=batch.batch_id)
            except ServiceRejected as exc:
                why = f"the service refused the batch of this line: {exc.message}"
                summary.rejected += [(line, why) for line in batch.lines]
                continue
            except ServiceError as exc:
                return (
                    f"{exc.message} Lines from {batch.lines[0]} on were not sent; run the same "
                    "command again when the service answers (nothing is counted twice)."
                )
            summary.accepted += result.accepted
            summary.rejected += [(batch.lines[r.index], r.reason) for r in result.rejected]
            if result.replayed:  # what it created was counted by the run that sent it
                summary.replayed.append(f"{batch.lines[0]}-{batch.lines[-1]}")
            else:
                summary.created += result.created
                summary.repeated += result.repeated
        return ""
    finally:
        await client.aclose()
        if embedded is not None:
            await embedded.aclose()


def run(args: argparse.Namespace) -> int:
    from tui.config import ConfigError
    from tui.profiles import target_from_args

    try:
        _, target = target_from_args(args)
    except ConfigError as exc:
        _say(exc.message)
        return 2
    source = "stdin" if args.file == "-" else args.file
    try:
        data = _read(args.file)
    except OSError as exc:
        _say(f"cannot read {source}: {exc.strerror or exc}")
        return 2
    summary = Summary()
    stopped = asyncio.run(_send_all(data, target, args.demo_size, summary))
    for line in summary.lines(source):
        _say(line)
    if stopped:
        _say(stopped)
        return 2
    return 1 if summary.rejected else 0
