"""The deterministic demo: a ledger full of realistic sync errors, and the org they fit.

``write_demo_ledger(sink, path, size, seed=7)`` writes a ledger through the service's
bulk load (``tui.embedded.build_demo_ledger`` opens one on a new file): ``size`` errors
of all 32 subtypes, their attempt history, the last 24 hours of API usage and default
settings. ``demo_org_state(seed)`` is the
simulated org those errors were recorded against: each error's ``sf_code`` and
``message`` are what that org answers for the failing record.

Every error carries a payload (``{"record": ..., "checks": ...}``). About half of
them (chosen by the seed) are "fixed": the admin corrected the CRM record, so the
payload's record now passes the org's checks and every check is true. The rest
still hold the faulty value, and a resync fails again with the same cause.

Checks: the facts the integration verifies itself before sending, for the errors it
raises with its own ``SYNC_*`` codes. When a check is false the resync engine
records the same error again and sends nothing.

- ``within_association_limit`` (association.association_limit): the CRM record is
  under the association limit.
- ``account_synced`` (association.awaiting_account_sync): the contact's Salesforce
  account has synced to a CRM company.
- ``contact_synced`` (custom_code.contact_id_missing): the activity's contact has a
  Salesforce id.
- ``email_unique`` (duplicate.email_in_use): no other CRM contact uses the address.
- ``option_exists`` (picklist.missing_option): the CRM property has an option for
  the Salesforce value.
- ``options_match`` (picklist.option_mismatch): the CRM option's internal value
  equals the Salesforce API name.
- ``owner_synced`` (picklist.owner_not_synced): the Salesforce owner has a CRM user.
- ``within_option_limit`` (picklist.option_limit): the property has room for the
  new option.

Attempt history: one ``attempts`` row per attempt (1 to 5 per error, a final
``synced`` row for resolved errors) for the newest 100,000 errors; older errors of
a larger demo keep their ``attempts`` count but no history rows, which keeps a
million-error demo fast to build and the file small.

The errors are built by the cases of ``demo_cases`` (one builder per subtype, in
``demo_cases_access`` and ``demo_cases_values``) from the people, companies and ids of
``demo_records``; this module turns them into the ledger's rows.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import orjson

from tui.core.classify import classify
from tui.core.notify_models import NotificationSettings
from tui.simorg.demo_cases import CASES
from tui.simorg.demo_records import DEALS, TASKS, Case, DemoGen, err, mix
from tui.simorg.state import OrgState

ORG_NAME = "Sakura Trading KK"
DAILY_LIMIT = 15000
ALLOCATED = 5000
HISTORY_ROWS_FOR = 100_000
_CHUNK = 20_000
_WINDOW = 30 * 24 * 3600

_OBJECT_TYPE = {
    "Lead": "contact",
    "Contact": "contact",
    "Account": "company",
    "Opportunity": "deal",
    "Task": "task",
}
_CRM_BASE = {
    "contact": 51_000_000_000,
    "company": 18_000_000_000,
    "deal": 9_000_000_000,
    "task": 71_000_000_000,
}


@dataclass(frozen=True, slots=True)
class DemoSummary:
    path: Path
    errors: int
    open: int
    resolved: int
    fixable: int
    attempts_rows: int
    by_subtype: dict[str, int]
    usage_24h: int
    seconds: float


#: Calls the demo org has served in the last 24 h, all its clients together (people in
#: the browser, other integrations and ours), so org-wide use reads above the
#: integration's own share as it does in a real org.
DEMO_ORG_CALLS_TODAY = 8_740


def demo_org_state(seed: int = 7, *, calls_today: int = 0) -> OrgState:
    """The simulated org the demo's errors were recorded against.

    ``calls_today`` starts the org's daily API counter (``DEMO_ORG_CALLS_TODAY`` for a
    lived-in demo; 0 lets tests count every call from zero).
    """
    state = OrgState.from_seed(seed)
    state.api_used = calls_today
    return state


def _schedule(seed: int) -> list[str]:
    """One block of subtypes in a seeded order; every subtype is in every block."""
    block = [code for code, (weight, _) in CASES.items() for _ in range(weight)]
    random.Random(f"demo-order:{seed}").shuffle(block)
    return block


def _iso(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _record_name(case: Case, g: DemoGen, r: int) -> str:
    obj = _OBJECT_TYPE[case.sf_object]
    if obj == "contact":
        return g.person(r)[0]
    if obj == "company":
        return g.company(r)[0]
    if obj == "deal":
        return f"{g.company(r)[0]} - {DEALS[r % len(DEALS)]}"
    return f"{TASKS[r % len(TASKS)]} ({g.person(r)[0]})"


def _rows(
    g: DemoGen, size: int, seed: int, now: int
) -> Iterator[tuple[tuple[Any, ...], tuple[tuple[Any, ...], ...], bool]]:
    """(error row, attempt rows, fixable) per error, in id order."""
    schedule = _schedule(seed)
    builders = {code: builder for code, (_, builder) in CASES.items()}
    classified: dict[tuple[str, str], tuple[str, str]] = {}
    salt = mix(seed + 0x5EED)
    history_from = size - HISTORY_ROWS_FOR
    dumps = orjson.dumps
    for error_id in range(1, size + 1):
        h = mix(error_id ^ salt)
        subtype = schedule[(error_id - 1) % len(schedule)]
        r = g.rec(h)
        case = builders[subtype](g, h, r)
        key = (subtype, case.variant)
        found = classified.get(key)
        if found is None:
            c = classify(err(case))
            found = classified[key] = (c.type, c.subtype)
        fixable = (h >> 8) % 100 < 50
        attempts = 1 + (h >> 16) % 5
        resolved = (h >> 40) % 100 < 12
        first = now - 600 - (h >> 20) % _WINDOW
        step = max((now - 600 - first) // attempts, 60)
        last = min(first + step * (attempts - 1), now - 60)
        payload = {"record": case.fixed if fixable else case.failing}
        if case.check is not None:
            payload["checks"] = {case.check: fixable}
        obj_type = _OBJECT_TYPE[case.sf_object]
        row = (
            error_id,
            error_id,
            found[0],
            found[1],
            obj_type,
            str(_CRM_BASE[obj_type] + r),
            _record_name(case, g, r),
            case.sf_object,
            case.sf_id,
            case.direction,
            case.code,
            case.message,
            dumps(case.fields).decode(),
            _iso(first),
            _iso(last),
            attempts,
            "resolved" if resolved else "open",
            dumps(payload).decode(),
        )
        history: tuple[tuple[Any, ...], ...] = ()
        if error_id > history_from:
            fails = tuple(
                (error_id, _iso(first + step * n), "failed", case.code, case.message, None)
                for n in range(attempts)
            )
            done = ((error_id, _iso(last + 30), "synced", "", "", None),) if resolved else ()
            history = fails + done
        yield row, history, fixable


def _usage(seed: int, now: datetime) -> list[tuple[str, int]]:
    """24 hourly buckets, busier in Japanese business hours, about 70% of the allocation."""
    rng = random.Random(f"demo-usage:{seed}")
    top = now.replace(minute=0, second=0, microsecond=0)
    hours = [top - timedelta(hours=23 - n) for n in range(24)]
    weights = []
    for hour in hours:
        jst = (hour.hour + 9) % 24
        base = 9.0 if 9 <= jst < 18 else 4.0 if 7 <= jst < 21 else 1.0
        weights.append(base * (0.6 if jst == 12 else 1.0) * rng.uniform(0.8, 1.2))
    target = ALLOCATED * rng.uniform(0.62, 0.78)
    scale = target / sum(weights)
    stamps = [h.strftime("%Y-%m-%dT%H:%M:%SZ") for h in hours]
    return [(stamp, round(w * scale)) for stamp, w in zip(stamps, weights, strict=True)]


#: How the demo's calls split: a /limits read every 5 minutes, then resync sends.
_LIMITS_PER_HOUR = 12
_SEND_SHARES = (
    ("update", "Contact", 0.30),
    ("update", "Lead", 0.27),
    ("update", "Account", 0.14),
    ("update", "Opportunity", 0.14),
    ("update", "Task", 0.05),
    ("upsert", "Contact", 0.10),
)


def _usage_calls(usage: list[tuple[str, int]]) -> list[tuple[str, str, str, int]]:
    """(hour, kind, sObject, calls) rows that add up to each hour of ``usage``."""
    rows = []
    for hour, calls in usage:
        limits = min(calls, _LIMITS_PER_HOUR)
        rest = calls - limits
        parts = [(kind, sobject, int(rest * share)) for kind, sobject, share in _SEND_SHARES]
        first_kind, first_object, first_calls = parts[0]
        parts[0] = (first_kind, first_object, first_calls + rest - sum(p[2] for p in parts))
        rows += [(hour, "limits", "", limits)] if limits else []
        rows += [(hour, kind, sobject, n) for kind, sobject, n in parts if n]
    return rows


class LedgerSink(Protocol):
    """Where the demo writes its ledger: the service's bulk load (tui/service/ledger_load.py),
    handed in by the composition root (tui/embedded.py) so the simulated org imports none
    of the service."""

    def errors(self, rows: Iterable[tuple[Any, ...]]) -> None: ...

    def attempts(self, rows: Iterable[tuple[Any, ...]]) -> None: ...

    def usage(
        self, hourly: Iterable[tuple[str, int]], calls: Iterable[tuple[str, str, str, int]]
    ) -> None: ...

    def meta(self, values: Mapping[str, str]) -> None: ...

    def settings(self, values: Mapping[str, Any]) -> None: ...


def write_demo_ledger(
    sink: LedgerSink, path: Path, size: int, *, seed: int = 7, now: datetime | None = None
) -> DemoSummary:
    """Write a demo ledger of ``size`` errors to ``sink`` (a new ledger at ``path``)."""
    started = time.perf_counter()
    if size < 0:
        raise ValueError("the demo size cannot be negative")
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    g = DemoGen(demo_org_state(seed), size)
    by_subtype: Counter[str] = Counter()
    resolved = fixable = attempt_rows = 0
    errors: list[tuple[Any, ...]] = []
    attempts: list[tuple[Any, ...]] = []
    for row, history, fix in _rows(g, size, seed, int(moment.timestamp())):
        errors.append(row)
        attempts.extend(history)
        by_subtype[row[3]] += 1
        resolved += row[16] == "resolved"
        fixable += fix
        if len(errors) >= _CHUNK:
            attempt_rows += _flush(sink, errors, attempts)
    attempt_rows += _flush(sink, errors, attempts)
    usage = _usage(seed, moment)
    sink.usage(usage, _usage_calls(usage))
    sink.meta({"org_name": ORG_NAME, "mode": "simulated", "next_seq": str(size + 1)})
    sink.settings(
        {"allocated": ALLOCATED, "notifications": NotificationSettings().model_dump(mode="json")}
    )
    return DemoSummary(
        path=path,
        errors=size,
        open=size - resolved,
        resolved=resolved,
        fixable=fixable,
        attempts_rows=attempt_rows,
        by_subtype=dict(by_subtype),
        usage_24h=sum(calls for _, calls in usage),
        seconds=time.perf_counter() - started,
    )


def _flush(sink: LedgerSink, errors: list[tuple[Any, ...]], attempts: list[tuple[Any, ...]]) -> int:
    sink.errors(errors)
    sink.attempts(attempts)
    written = len(attempts)
    errors.clear()
    attempts.clear()
    return written
