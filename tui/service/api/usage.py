"""Handlers of health, usage, the allocation and the automatic retry policy."""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import ValidationError

from tui import __version__
from tui.core.invalid import explain
from tui.core.models import (
    AllocationUpdate,
    Health,
    KindObjectCalls,
    NamedCalls,
    RetryPolicy,
    UsageBreakdown,
)
from tui.service import audit, history
from tui.service.api.problems import JSON, ApiProblem
from tui.service.api.service import Service
from tui.service.api.table import Call
from tui.service.auth import ANONYMOUS_SCOPE
from tui.service.db import DatabaseUnavailable
from tui.service.retries import POLICY_KEY
from tui.service.usage import ALLOCATED_KEY

#: Seconds health waits for the org's name from the database before it says the
#: database does not answer (a load balancer's probe must not hang on it).
HEALTH_WAIT = 2.0


async def health(svc: Service, call: Call) -> JSON:
    """Degraded while Salesforce or the ledger's database cannot be reached. Never waits
    on the database for longer than :data:`HEALTH_WAIT`, and not at all while it is known
    to be away: the org's name is then the one last read."""
    reason = svc.ledger.db.unavailable
    org_name = svc.known_org_name
    if reason is None:
        try:
            org_name = await asyncio.wait_for(svc.org_name(), HEALTH_WAIT)
        except DatabaseUnavailable as exc:
            reason = str(exc)
        except TimeoutError:
            reason = f"the ledger's database did not answer within {HEALTH_WAIT:g} s"
    anonymous = call.request.scope.get(ANONYMOUS_SCOPE, False)
    return JSON(
        Health(
            status="degraded" if svc.usage.last_error or reason else "ok",
            version=__version__,
            org_name="" if anonymous else org_name,
            mode=svc.config.mode,
            time=svc.config.clock().replace(microsecond=0),
            resync_mode=svc.config.resync_mode,
            replica="" if anonymous else svc.replicas.replica_id,
            runs=[] if anonymous else svc.leases.holding(),
            database="ok" if reason is None else "unavailable",
            problem=reason or svc.usage.last_error,
        )
    )


async def get_usage(svc: Service, call: Call) -> JSON:
    return JSON(await svc.usage_report())


async def get_breakdown(svc: Service, call: Call) -> JSON:
    rows = await svc.usage.breakdown()

    def summed(index: Literal[0, 1]) -> list[NamedCalls]:
        totals: dict[str, int] = {}
        for row in rows:
            totals[row[index]] = totals.get(row[index], 0) + row[2]
        ordered = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
        return [NamedCalls(name=name, calls=calls) for name, calls in ordered]

    return JSON(
        UsageBreakdown(
            total=sum(r[2] for r in rows),
            by_kind=summed(0),
            by_object=summed(1),
            rows=[KindObjectCalls(kind=k, object=o, calls=c) for k, o, c in rows],
            as_of=svc.config.clock(),
        )
    )


def refuse_allocation(exc: ValidationError) -> ApiProblem:
    """A whole number is asked for in words a person can act on."""
    for err in exc.errors(include_url=False):
        if err["loc"] == ("allocated",) and err["type"] in ("int_type", "int_parsing"):
            return ApiProblem(
                422,
                "invalid_allocation",
                f"The allocation must be a whole number of API calls, got {err['input']!r}.",
            )
        if err["loc"] == ("allocated",) and err["type"] == "greater_than_equal":
            return ApiProblem(
                422,
                "invalid_allocation",
                "The allocation must be between 0 and the org's Salesforce limit "
                f"(salesforce_limit of GET /v1/usage), got {err['input']:,}.",
            )
    return ApiProblem(
        422,
        "invalid_allocation",
        f'Send the allocation as {{"allocated": <calls>}} ({explain(exc)}).',
    )


async def put_allocation(svc: Service, call: Call) -> JSON:
    body: AllocationUpdate = call.body
    value = body.allocated
    report = await svc.usage_report()
    if report.limits_as_of is None:
        raise ApiProblem(
            503,
            "salesforce_limits_unknown",
            "The org's API limit is not known yet (Salesforce could not be reached), so "
            "the allocation cannot be checked. Try again when Salesforce answers.",
        )
    if value > report.salesforce_limit:
        raise ApiProblem(
            422,
            "invalid_allocation",
            f"The allocation must be between 0 and the org's Salesforce limit of "
            f"{report.salesforce_limit:,} calls per 24 hours, got {value:,}.",
        )
    await audit.change_setting(
        svc.ledger,
        svc.config.clock(),
        ALLOCATED_KEY,
        value,
        before=svc.config.default_allocation,
        kind="allocation",
        actor=history.actor_of(call.request),
        label="allocated",
    )
    svc.jobs.wake()
    return JSON(report.model_copy(update={"allocated": value}))


async def get_retries(svc: Service, call: Call) -> JSON:
    return JSON(await svc.retries.status())


async def put_retries(svc: Service, call: Call) -> JSON:
    policy: RetryPolicy = call.body
    await audit.change_setting(
        svc.ledger,
        svc.config.clock(),
        POLICY_KEY,
        policy.model_dump(),
        before=RetryPolicy().model_dump(),
        kind="retries",
        actor=history.actor_of(call.request),
    )
    return JSON(await svc.retries.status())
