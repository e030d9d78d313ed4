"""``synchealth serve``: run the Sync Health service over HTTP (uvicorn).

With ``--demo`` the service works on a demo ledger against a simulated org that runs
in the same process; with ``--org-url`` it talks to a real org. Listening beyond
loopback needs an API token, or anyone on the network could read and resync.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path
from typing import Any

TOKEN_ENV = "SYNCHEALTH_API_TOKEN"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the Sync Health service (HTTP API) for consoles to share",
        description="Run the Sync Health service over HTTP. Consoles connect with "
        "'synchealth --url http://HOST:PORT'.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (8765)")
    parser.add_argument("--db", type=Path, help="the ledger file (default: in the user data dir)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--demo", action="store_true", help="serve a demo ledger against a simulated org"
    )
    source.add_argument("--org-url", help="the Salesforce instance URL of a real org")
    parser.add_argument(
        "--demo-size", type=int, default=5000, help="errors in a new demo ledger (5000)"
    )
    parser.add_argument(
        "--org-token-env",
        default="SALESFORCE_ACCESS_TOKEN",
        metavar="NAME",
        help="environment variable holding the org's access token (SALESFORCE_ACCESS_TOKEN)",
    )
    parser.add_argument("--org-name", help="the org's name to show when the ledger has none")
    parser.add_argument(
        "--token",
        help=f"API token clients must send as a bearer (default: ${TOKEN_ENV}); "
        "required unless listening on loopback",
    )


def _fail(message: str) -> int:
    print(f"synchealth serve: {message}", file=sys.stderr)
    return 2


def _demo_ledger(db: Path, size: int) -> None:
    from tui.simorg.demo import build_demo_ledger

    if not db.exists():
        print(f"Building a demo ledger of {size:,} errors in {db} ...", flush=True)
        db.parent.mkdir(parents=True, exist_ok=True)
        build_demo_ledger(db, size)


def run(args: argparse.Namespace) -> int:
    import httpx
    import uvicorn

    from tui.data.paths import data_dir
    from tui.service.app import SyncHealthService
    from tui.service.auth import is_loopback
    from tui.service.config import ServiceConfig

    token = args.token or os.environ.get(TOKEN_ENV) or None
    if not is_loopback(args.host) and token is None:
        return _fail(
            f"refusing to listen on {args.host} without an API token: anyone who can reach "
            f"that address could read the ledger and resync. Pass --token or set {TOKEN_ENV}, "
            "or listen on 127.0.0.1."
        )
    if not 0 < args.port < 65536:
        return _fail(f"--port must be from 1 to 65535, got {args.port}")
    if args.demo:
        if args.demo_size < 1:
            return _fail(f"--demo-size must be at least 1, got {args.demo_size}")
        from tui.simorg.app import create_simorg
        from tui.simorg.demo import DEMO_ORG_CALLS_TODAY, demo_org_state

        db = args.db or data_dir() / "serve-demo.sqlite3"
        _demo_ledger(db, args.demo_size)
        org_token = secrets.token_urlsafe(24)
        org = create_simorg(
            demo_org_state(7, calls_today=DEMO_ORG_CALLS_TODAY), access_token=org_token
        )
        config = ServiceConfig(
            db_path=db,
            org_token=org_token,
            org_transport=httpx.ASGITransport(app=org),
            api_token=token,
            org_name=args.org_name or "Demo org (simulated)",
            mode="simulated",
        )
    elif args.org_url:
        org_token = os.environ.get(args.org_token_env)
        if not org_token:
            return _fail(
                f"the org's access token is read from ${args.org_token_env}, which is not set"
            )
        config = ServiceConfig(
            db_path=args.db or data_dir() / "serve.sqlite3",
            org_url=args.org_url,
            org_token=org_token,
            api_token=token,
            org_name=args.org_name or args.org_url,
            mode="live",
        )
    else:
        return _fail("say which org to serve: --demo (simulated) or --org-url URL (live)")
    service = SyncHealthService(config)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"Sync Health service on http://{host}:{args.port} "
        f"(mode: {config.mode}, ledger: {config.db_path}, "
        f"auth: {'bearer token' if token else 'none, loopback only'})",
        flush=True,
    )
    server = uvicorn.Server(
        uvicorn.Config(service.asgi, host=args.host, port=args.port, log_level="warning")
    )
    server.run()
    return 0 if server.started else 1
