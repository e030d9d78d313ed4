"""A Sync Health service that misbehaves on purpose: a real HTTP server on 127.0.0.1.

``http.server`` in a thread, answering each (method, path) with the rule set for it:
a status, a body in the service's own error shape (``{"error": {"code", "message"}}``,
docs/api.md) and a delay before answering. Unruled paths answer as a healthy, empty
service. It records every request, so a test can say what was (not) sent.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tui.core.models import ERROR_COLUMNS


@dataclass
class Rule:
    status: int
    body: Any
    delay: float = 0.0


def _healthy(path: str) -> Any:
    now = datetime.now(UTC).replace(microsecond=0)
    stamp = now.isoformat().replace("+00:00", "Z")
    if path == "/v1/health":
        return {"status": "ok", "version": "1", "org_name": "Faulty org", "mode": "live",
                "time": stamp}  # fmt: skip
    if path == "/v1/usage":
        hours = [
            {"hour": (now - timedelta(hours=23 - i)).isoformat().replace("+00:00", "Z"),
             "calls": 0}
            for i in range(24)
        ]  # fmt: skip
        return {"used": 0, "allocated": 1000, "salesforce_limit": 15000, "org_used": 0,
                "hourly": hours, "as_of": stamp}  # fmt: skip
    if path == "/v1/errors":
        return {"columns": list(ERROR_COLUMNS), "rows": [], "next_cursor": 0, "has_more": False}
    return {"error": {"code": "not_found", "message": "No such path."}}


class FaultyService:
    """Start with ``with FaultyService() as svc:``; ``svc.url`` is its base URL."""

    def __init__(self) -> None:
        self.rules: dict[tuple[str, str], Rule] = {}
        self.requests: list[tuple[str, str, bytes]] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                service.requests.append((self.command, path, body))
                rule = service.rules.get((self.command, path)) or service.rules.get(("*", "*"))
                if rule is None:
                    rule = Rule(200 if path in ("/v1/health", "/v1/usage", "/v1/errors")
                                else 404, _healthy(path))  # fmt: skip
                if rule.delay:
                    time.sleep(rule.delay)
                data = json.dumps(rule.body).encode()
                try:
                    self.send_response(rule.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up waiting

            do_GET = do_POST = do_PUT = _answer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def answer(self, method: str, path: str, status: int, body: Any, delay: float = 0.0) -> None:
        self.rules[(method, path)] = Rule(status, body, delay)

    def answer_all(self, status: int, body: Any, delay: float = 0.0) -> None:
        self.rules[("*", "*")] = Rule(status, body, delay)

    def posted(self, path: str) -> list[Any]:
        return [json.loads(b) for m, p, b in self.requests if m == "POST" and p == path]

    def __enter__(self) -> FaultyService:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def service_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}
