"""The resync engine: re-send fixed records to Salesforce and record what happened.

One request handles at most :data:`~tui.core.limits.RESYNC_MAX_IDS` (100) errors.
Its life, so that nothing is ever sent twice:

1. a request_id already ``done`` answers its stored result (``replayed``), sending
   nothing; one ``started`` is being sent (by this or another replica) and is
   refused as in progress; one ``interrupted`` (the process died, or Salesforce did
   not answer) is refused: its effect in Salesforce is unknown. The request_id is
   looked up again inside the transaction that writes it 'started', so of two
   replicas given it at once only one sends;
2. errors whose payload ``checks`` still fail are failed again without sending;
3. the records to send are grouped into calls (:func:`plan_calls`): records with a
   Salesforce id in one sObject Collections update, records known only by an
   external id in one collections upsert per object and field; a record that
   several errors share goes out once;
4. the allocation must cover ``ceil(records / 200)`` calls per group, else nothing
   happens;
5. the request is written ``started``, the calls go out through the connector (each
   committed to the usage ledger before it is sent, tui/service/usage.py), and the
   ledger updates and the ``done`` result are committed in one transaction. When a
   later call fails after an earlier one was applied, the applied outcomes are kept
   and the errors of the failed and remaining calls are answered ``skipped`` with the
   reason.

A call Salesforce answers "busy" (:class:`SalesforceBusy`: the concurrency limit,
420/429) did nothing, so it is sent again after each wait of :data:`BUSY_BACKOFF`;
when Salesforce is still busy the request is refused ("retry in a minute"), never
as over-budget.

Step 3, the records grouped into calls, is in ``tui/service/resync_calls.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tui.core.classify import classify
from tui.core.lang import counted
from tui.service.callcount import counting
from tui.service.db import DatabaseError, DatabaseUnavailable
from tui.service.ledger import ErrorChange, Ledger, ResyncRow
from tui.service.resync_calls import SalesforceCall, plan_calls, record_identity, sent_records
from tui.service.salesforce import SalesforceConnector
from tui.service.salesforce_answers import RecordResult
from tui.service.salesforce_errors import (
    RequestLimitExceeded,
    SalesforceBusy,
    SalesforceError,
    SalesforceProtocolError,
    SalesforceUnavailable,
    SessionExpired,
)
from tui.service.usage import UsageLedger

#: Seconds to wait before each new attempt of a call Salesforce answered "busy"; kept
#: well under the console's 15 s wait for a resync answer.
BUSY_BACKOFF: tuple[float, ...] = (1.0, 2.0, 5.0)
#: Waits before writing an abandoned request again while the database is away (s).
ABANDON_RETRIES: tuple[float, ...] = (0.5, 1.0, 2.0)

#: How each Salesforce failure ends a resync, most specific first: (HTTP status, code,
#: whether nothing reached Salesforce so the request can be forgotten, message).
_REFUSALS: tuple[tuple[type[SalesforceError], int, str, bool, str], ...] = (
    (
        RequestLimitExceeded,
        429,
        "salesforce_limit_exceeded",
        True,
        "Salesforce refused the resync: {exc}. Nothing was synced; try again later "
        "or ask for a higher org limit.",
    ),
    (
        SalesforceBusy,
        503,
        "salesforce_busy",
        True,
        "{exc}; it stayed busy through {attempts} attempts. Nothing was synced; start the "
        "resync again in a minute.",
    ),
    (
        SessionExpired,
        502,
        "salesforce_session_expired",
        True,
        "{exc}. Nothing was synced; renew the service's Salesforce access token and try again.",
    ),
    (
        SalesforceUnavailable,
        503,
        "salesforce_unavailable",
        False,
        "Salesforce did not answer the resync ({exc}), so whether it applied the "
        "changes is unknown. Refresh the errors and start a new request for those "
        "still open.",
    ),
    (
        SalesforceProtocolError,
        502,
        "salesforce_bad_answer",
        False,
        "Salesforce's answer to the resync could not be read ({exc}), so which "
        "records it applied is unknown. Refresh the errors and start a new request "
        "for those still open.",
    ),
    (SalesforceError, 502, "salesforce_refused", True, "{exc}. Nothing was synced."),
)


def _refusal_for(exc: SalesforceError) -> tuple[int, str, bool, str]:
    """(status, code, forget, message template) of the first matching refusal."""
    for kind, status, code, forget, words in _REFUSALS:
        if isinstance(exc, kind):
            return status, code, forget, words
    raise AssertionError("SalesforceError closes the table")


class ResyncRefused(Exception):
    """The request was not carried out; ``status``/``code``/``message`` go to the client."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True, slots=True)
class _Plan:
    outcomes: dict[int, dict[str, Any]]  # skipped, filled now
    recheck: list[ResyncRow]  # an integration check still fails: failed again, not sent
    send: list[ResyncRow]


NO_SUCH_ERROR = "No sync error has this id; nothing was sent."
ALREADY_RESOLVED = "This error is already resolved; nothing was sent."
IGNORED = "This error is ignored; nothing was sent. Unignore it to resync it."


def not_open(status: str) -> str:
    """Why an error that is not open is skipped: resolved, or ignored."""
    return IGNORED if status == "ignored" else ALREADY_RESOLVED


def outcome(error_id: int, status: str, **extra: Any) -> dict[str, Any]:
    """One entry of a ``ResyncResult``'s outcomes."""
    return {
        "error_id": error_id,
        "status": status,
        "type": None,
        "subtype": None,
        "sf_code": "",
        "message": "",
        **extra,
    }


def _unsent(
    failed: SalesforceCall, later: Sequence[SalesforceCall], exc: SalesforceError
) -> dict[int, str]:
    """Why the errors of a failed call, and of the calls after it, have no outcome."""
    if isinstance(exc, SalesforceUnavailable | SalesforceProtocolError):
        why = (
            f"Salesforce did not answer for this record ({exc}), so whether it was applied is "
            "unknown. Refresh the errors and resync it again if it is still open."
        )
    else:
        why = f"Not sent: Salesforce refused it ({exc}). Resync it again later."
    skipped = {row.id: why for rows in failed.rows for row in rows}
    after = f"Not sent: an earlier part of this resync failed ({exc}). Resync it again."
    skipped.update({row.id: after for call in later for rows in call.rows for row in rows})
    return skipped


def replay(
    state: str, stored_ids: list[int], result: dict[str, Any] | None, ids: list[int]
) -> dict[str, Any]:
    """The stored answer of a request_id used before, or why it cannot be given."""
    if sorted(stored_ids) != sorted(ids):
        raise ResyncRefused(
            409,
            "request_id_reused",
            "This request_id was already used for a different set of errors. "
            "Use a new request_id for a new resync.",
        )
    if state == "done" and result is not None:
        return {**result, "replayed": True}
    if state == "started":
        raise ResyncRefused(
            409,
            "resync_in_progress",
            "This resync is being sent to Salesforce now (by this service or another "
            "replica of it); it is not sent twice. Ask again with the same request_id in "
            "a moment for its result.",
        )
    raise ResyncRefused(
        409,
        "resync_interrupted",
        "This resync was interrupted before it finished, so whether Salesforce received "
        "it is unknown; it will not be sent again under the same request_id. Refresh the "
        "errors and start a new request (a new request_id) for those still open.",
    )


class ResyncEngine:
    def __init__(
        self,
        ledger: Ledger,
        usage: UsageLedger,
        connector: SalesforceConnector,
        clock: Callable[[], datetime],
        after_salesforce: Callable[[], None],
        owner: str | None = None,
    ) -> None:
        self._ledger = ledger
        self._owner = owner  # this replica's id, on the requests it starts (replicas.py)
        self._usage = usage
        self._connector = connector
        self._clock = clock
        self._after_salesforce = after_salesforce  # reads the connector's limit info
        self._lock = asyncio.Lock()

    async def run(self, request_id: str, error_ids: Sequence[int]) -> dict[str, Any]:
        """Carry out one request; the ``ResyncResult`` as a dict, or :class:`ResyncRefused`."""
        ids = list(dict.fromkeys(error_ids))
        async with self._lock:
            stored = await self._ledger.request(request_id)
            if stored is not None:
                return replay(stored.state, stored.error_ids, stored.result, ids)
            plan = self._plan(ids, await self._ledger.resync_rows(ids))
            sf_calls = plan_calls(plan.send)
            # re-checking integration errors sends nothing, yet counts an attempt: once the
            # allocation is spent it is refused like any resync, as the console's confirm says
            needed = sum(call.calls for call in sf_calls) or int(bool(plan.recheck))
            await self._check_allocation(needed)
            taken = await self._ledger.start_request(request_id, ids, self._clock(), self._owner)
            if taken is not None:  # another replica started it since the look above
                return replay(taken.state, taken.error_ids, taken.result, ids)
            results, unsent, calls = await self._send(request_id, sf_calls)
            sent = sent_records(sf_calls)
            changes = [self._recheck(row) for row in plan.recheck]
            for row in plan.send:
                if row.id in results:
                    changes.append(self._change(row, results[row.id], sent[row.id]))
                else:
                    plan.outcomes[row.id] = outcome(row.id, "skipped", message=unsent[row.id])
            for change in changes:
                plan.outcomes[change.id] = self._outcome_of(change)
            result = {
                "request_id": request_id,
                "outcomes": [plan.outcomes[i] for i in ids],
                "salesforce_calls": calls,
                "replayed": False,
            }
            async with self._ledger.transaction() as conn:
                await Ledger.apply_changes(conn, changes, request_id, self._clock())
                await Ledger.finish_request(conn, request_id, result)
            return result

    @staticmethod
    def _plan(ids: list[int], rows: dict[int, ResyncRow]) -> _Plan:
        outcomes: dict[int, dict[str, Any]] = {}
        recheck: list[ResyncRow] = []
        send: list[ResyncRow] = []
        for error_id in ids:
            row = rows.get(error_id)
            if row is None:
                outcomes[error_id] = outcome(error_id, "skipped", message=NO_SUCH_ERROR)
            elif row.status != "open":
                outcomes[error_id] = outcome(error_id, "skipped", message=not_open(row.status))
            elif any(v is False for v in (row.payload.get("checks") or {}).values()):
                recheck.append(row)
            elif record_identity(row.payload) is None:
                outcomes[error_id] = outcome(
                    error_id,
                    "skipped",
                    message="This error's record has neither a Salesforce id nor an external id "
                    "to send it by; nothing was sent. It clears when the sync engine syncs the "
                    "record again.",
                )
            else:
                send.append(row)
        return _Plan(outcomes, recheck, send)

    async def _check_allocation(self, needed: int) -> None:
        if not needed:
            return
        used, allocated = await self._usage.used(), await self._usage.allocated()
        if used + needed > allocated:
            raise ResyncRefused(
                429,
                "allocation_exceeded",
                f"This resync needs {counted(needed, 'Salesforce API call')}, but the "
                f"integration has used {used:,} of its {allocated:,} allocated calls in the "
                f"last 24 hours. Raise the allocation or wait for older calls to leave the "
                f"24-hour window. Nothing was sent.",
            )

    async def _send(
        self, request_id: str, sf_calls: list[SalesforceCall]
    ) -> tuple[dict[int, RecordResult], dict[int, str], int]:
        """Results by error id, reasons for errors not sent, and the calls spent.

        A failure of the first call refuses the whole request (:class:`ResyncRefused`);
        a failure of a later one keeps what the earlier calls did.
        """
        results: dict[int, RecordResult] = {}
        unsent: dict[int, str] = {}
        if not sf_calls:
            return results, unsent, 0
        try:
            with counting() as calls:
                for n, call in enumerate(sf_calls):
                    try:
                        answers = await self._deliver(call)
                    except SalesforceError as exc:
                        if n == 0:
                            raise
                        unsent = _unsent(sf_calls[n], sf_calls[n + 1 :], exc)
                        break
                    for rows, answer in zip(call.rows, answers, strict=True):
                        results.update(dict.fromkeys((row.id for row in rows), answer))
        except SalesforceError as exc:
            status, code, forget, words = _refusal_for(exc)
            await self._abandon(request_id, forget=forget)
            attempts = len(BUSY_BACKOFF) + 1
            raise ResyncRefused(status, code, words.format(exc=exc, attempts=attempts)) from exc
        except DatabaseError:
            # raised by recording the next call, before it was sent: with no answer yet,
            # nothing reached Salesforce and the request_id may be used again
            await self._abandon(request_id, forget=not results)
            raise
        except BaseException:
            await self._abandon(request_id, forget=False)
            raise
        finally:
            self._after_salesforce()
        return results, unsent, calls[0]

    async def _deliver(self, call: SalesforceCall) -> list[RecordResult]:
        """Send one call, again after each busy-wait while Salesforce answers "busy"."""
        for wait in BUSY_BACKOFF:
            try:
                return await self._send_call(call)
            except SalesforceBusy:
                await asyncio.sleep(wait)
        return await self._send_call(call)

    async def _send_call(self, call: SalesforceCall) -> list[RecordResult]:
        if call.upsert is None:
            return await self._connector.update(call.records)
        sobject, field = call.upsert
        return await self._connector.upsert(sobject, field, call.records)

    async def _abandon(self, request_id: str, *, forget: bool) -> None:
        """Salesforce refused (forget: nothing changed) or the outcome is unknown.

        Written again for a few seconds while the database is away: after a lost
        connection requests fail at once until the outage's probe gets back in, and a
        request left 'started' would refuse its own request_id (409) until a sweep.
        """
        write = self._ledger.forget_request if forget else self._ledger.interrupt_request
        for wait in ABANDON_RETRIES:
            try:
                return await write(request_id)
            except DatabaseUnavailable:
                await asyncio.sleep(wait)
        await write(request_id)

    @staticmethod
    def _outcome_of(change: ErrorChange) -> dict[str, Any]:
        if change.outcome == "synced":
            return outcome(change.id, "synced")
        return outcome(
            change.id,
            "failed",
            type=change.type,
            subtype=change.subtype,
            sf_code=change.sf_code,
            message=change.message,
        )

    @staticmethod
    def _recheck(row: ResyncRow) -> ErrorChange:
        return ErrorChange(
            row.id, "failed", row.type, row.subtype, row.sf_code, row.message, row.fields
        )

    @staticmethod
    def _change(row: ResyncRow, result: RecordResult, sent: dict[str, Any]) -> ErrorChange:
        if result.success:
            return ErrorChange(
                row.id, "synced", row.type, row.subtype, row.sf_code, row.message, row.fields, sent
            )
        first = (
            result.errors[0]
            if result.errors
            else {
                "statusCode": "UNKNOWN_EXCEPTION",
                "message": "Salesforce rejected the record without saying why.",
                "fields": [],
            }
        )
        c = classify(first)
        return ErrorChange(
            row.id, "failed", c.type, c.subtype, c.sf_code, c.message, list(c.fields), sent
        )
