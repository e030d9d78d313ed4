"""The simulated org alone on a loopback port: ``python -m tui.simorg --port N``.

For a load test with several service processes that must all call one org (so its
counts are the truth): ``synchealth serve --org-url http://127.0.0.1:N`` with the
token from ``--token-env``'s variable. Besides the Salesforce routes it answers
``GET /_simorg/received``, not a Salesforce route: every record id it was sent in an
sObject Collections update or upsert, with how many times, and the calls it answered.
``--latency S`` holds each collections answer S seconds after the records are counted,
as a real org takes its time over 200 records: a service killed meanwhile never learns
the outcome of records the org did receive.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

import orjson
import uvicorn

from tui.simorg.app import create_simorg
from tui.simorg.demo import demo_org_state

RECEIVED_PATH = "/_simorg/received"
ASGIApp = Any  # (scope, receive, send) -> None, as uvicorn calls it


class Counting:
    """Wraps the org: counts the records of each collections call before passing it on."""

    def __init__(self, app: ASGIApp, latency: float = 0.0) -> None:
        self.app = app
        self.latency = latency
        self.records: dict[str, int] = {}
        self.calls = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == RECEIVED_PATH:
            await self._answer(send)
            return
        if scope["method"] == "PATCH" and "/composite/sobjects" in scope["path"]:
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            self._count(body)
            if self.latency:
                await asyncio.sleep(self.latency)
            replayed = False

            async def again() -> dict[str, Any]:
                nonlocal replayed
                if replayed:
                    return {"type": "http.disconnect"}
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}

            await self.app(scope, again, send)
            return
        await self.app(scope, receive, send)

    def _count(self, body: bytes) -> None:
        self.calls += 1
        try:
            records = orjson.loads(body).get("records", [])
        except (orjson.JSONDecodeError, AttributeError):
            return  # the org answers it as a bad request; nothing was received
        for record in records:
            key = str(record.get("Id") or record.get("CRM_Id__c") or "")
            self.records[key] = self.records.get(key, 0) + 1

    async def _answer(self, send: Any) -> None:
        body = orjson.dumps({"calls": self.calls, "records": self.records})
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tui.simorg", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token-env", default="SALESFORCE_ACCESS_TOKEN", metavar="NAME",
                        help="variable holding the access token the org accepts")  # fmt: skip
    parser.add_argument("--seed", type=int, default=7, help="the demo org's seed (7)")
    parser.add_argument("--daily-limit", type=int, default=15000)
    parser.add_argument("--latency", type=float, default=0.0, metavar="S",
                        help="seconds each collections call takes to answer (0)")  # fmt: skip
    args = parser.parse_args()
    token = os.environ.get(args.token_env)
    if not token:
        parser.error(f"set {args.token_env} to the access token the org should accept")
    org = create_simorg(demo_org_state(args.seed), access_token=token,
                        daily_limit=args.daily_limit)  # fmt: skip
    uvicorn.run(Counting(org, args.latency), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
