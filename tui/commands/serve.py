"""``synchealth serve``: run the Sync Health service over HTTP (uvicorn).

With ``--demo`` the service works on a demo ledger against a simulated org that runs
in the same process; with ``--org-url`` it talks to a real org with a given token;
with a profile (``--profile``, ``$SYNCHEALTH_PROFILE`` or ``default_profile``) it signs
in as the profile's ``[salesforce]`` table says. Every value can also come from the
environment (:mod:`tui.profiles`). Listening beyond loopback needs an API token, or
anyone on the network could read and resync.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.commands import serve_tokens
from tui.commands.say import say, show
from tui.profiles import API_TOKEN_ENV, DEFAULT_HOST, DEFAULT_PORT, add_profile_arguments

if TYPE_CHECKING:
    from tui.serve_plan import ServePlan
    from tui.service.db import PostgresTarget


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the Sync Health service (HTTP API) for consoles to share",
        description="Run the Sync Health service over HTTP. Consoles connect with "
        "'synchealth --url http://HOST:PORT' or a profile's service_url. Flags win over "
        "environment variables, which win over the profile (docs/configuration.md).",
    )
    parser.add_argument(
        "--host", help=f"address to listen on (default: $SYNCHEALTH_HOST, profile, {DEFAULT_HOST})"
    )
    parser.add_argument(
        "--port",
        type=int,
        help=f"port to listen on (default: $SYNCHEALTH_PORT, profile, {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--db",
        help="the ledger: a file, sqlite:///PATH, or postgresql://USER@HOST:PORT/DB "
        "(default: $SYNCHEALTH_DB, profile, data dir)",
    )
    parser.add_argument(
        "--db-password-file",
        type=Path,
        help="a file holding the PostgreSQL password (else the URL, PGPASSWORD or PGPASSFILE)",
    )
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
        help="with --org-url: environment variable holding the org's access token "
        "(SALESFORCE_ACCESS_TOKEN)",
    )
    parser.add_argument("--org-name", help="the org's name to show when the ledger has none")
    parser.add_argument(
        "--token",
        help=f"API token clients must send as a bearer (default: ${API_TOKEN_ENV}, then the "
        "profile's api_token_env / api_token_file); required unless listening on loopback",
    )
    add_profile_arguments(parser)
    serve_tokens.add_parser(parser.add_subparsers(dest="serve_command", metavar="tokens"))


def _fail(message: str) -> int:
    say("serve", message)
    return 2


#: The first 16 bytes of every SQLite 3 file.
SQLITE_HEADER = b"SQLite format 3\x00"


def ledger_problem(db: Path) -> str | None:
    """What makes ``db`` unusable as the ledger, in one sentence; None when it can be used.

    Checked before uvicorn starts, so a wrong ``--db`` is one line and exit 2, and no
    folder is ever created for it.
    """
    if db.is_dir():
        return f"the ledger {db} is a folder; give the path of a file, e.g. {db / 'ledger.sqlite3'}"
    if not db.parent.is_dir():
        return f"the folder {db.parent} of the ledger {db} does not exist; create it first"
    if not db.exists():
        return None
    try:
        with db.open("rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        return f"cannot read the ledger {db}: {exc.strerror or exc}"
    if head and head != SQLITE_HEADER:
        return f"the ledger {db} is not a SQLite file; give the path of a ledger (or a new file)"
    if head:
        try:
            with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
        except sqlite3.Error as exc:
            return f"cannot open the ledger {db}: {exc}"
    return None


def _demo_ledger(db: Path, size: int) -> None:
    from tui.embedded import build_demo_ledger

    if not db.exists():
        show(f"Building a demo ledger of {size:,} errors in {db} ...")
        build_demo_ledger(db, size)


def _simulated_org() -> dict[str, Any]:
    """The ServiceConfig fields of a simulated org served in this process."""
    import httpx

    from tui.simorg.app import create_simorg
    from tui.simorg.demo import DEMO_ORG_CALLS_TODAY, demo_org_state

    org_token = secrets.token_urlsafe(24)
    org = create_simorg(demo_org_state(7, calls_today=DEMO_ORG_CALLS_TODAY), access_token=org_token)
    return {
        "org_token": org_token,
        "org_transport": httpx.ASGITransport(app=org),
        "mode": "simulated",
    }


def team_ledger(db: Path | None, profile: str | None) -> Path:
    """``db``, else the data dir's ledger of the profile (or of no profile)."""
    from tui.data.paths import data_dir

    return db or data_dir() / (f"serve-{profile}.sqlite3" if profile else "serve.sqlite3")


def _named_tokens(db: Path | PostgresTarget) -> bool:
    """Whether the ledger holds named API tokens (``synchealth serve tokens``); a ledger
    not made yet holds none, and is not made by asking."""
    import asyncio

    from tui.service.ledger import Ledger
    from tui.service.tokens import Tokens

    async def ask() -> bool:
        ledger = Ledger(db)
        await ledger.open()
        try:
            return await Tokens(ledger).any()
        finally:
            await ledger.close()

    if isinstance(db, Path) and not db.exists():
        return False
    return asyncio.run(ask())


def _open_to_all(plan: ServePlan, db: Path | PostgresTarget) -> str | None:
    """Why the service must not start as planned: beyond loopback, and no token at all."""
    from tui.service.auth import is_loopback

    if plan.api_token is not None or is_loopback(plan.host) or _named_tokens(db):
        return None
    return (
        f"refusing to listen on {plan.host} without an API token: anyone who can reach "
        f"that address could read the ledger and resync. Add one with 'synchealth serve "
        f"tokens add NAME', pass --token or set {API_TOKEN_ENV} (or api_token_env / "
        "api_token_file in the profile), or listen on 127.0.0.1."
    )


def run(args: argparse.Namespace) -> int:
    if getattr(args, "serve_command", None) == "tokens":
        return serve_tokens.run(args)
    import uvicorn
    from pydantic import ValidationError

    from tui.config import ConfigError
    from tui.core.tomlfile import describe
    from tui.profiles import select
    from tui.serve_plan import serve_plan, service_config
    from tui.service.app import SyncHealthService
    from tui.service.db import DatabaseError, PostgresTarget
    from tui.service.ledger import LedgerError

    if args.demo and args.demo_size < 1:
        return _fail(f"--demo-size must be at least 1, got {args.demo_size}")
    if args.port is not None and not 0 < args.port < 65536:
        return _fail(f"--port must be from 1 to 65535, got {args.port}")
    try:
        plan = serve_plan(
            select(args.config, args.profile),
            host=args.host,
            port=args.port,
            db=args.db,
            db_password_file=args.db_password_file,
            token=args.token,
            org_name=args.org_name,
            demo=args.demo,
            org_url=args.org_url,
            org_token_env=args.org_token_env,
        )
    except ConfigError as exc:
        return _fail(exc.message)
    db: Path | PostgresTarget
    try:
        if isinstance(plan.db, PostgresTarget):  # never with --demo (serve_plan)
            db = plan.db
            if (problem := _open_to_all(plan, db)) is not None:
                return _fail(problem)
            config = service_config(plan, Path("unused-on-postgresql"), database=db)
        else:
            db = team_ledger(plan.db, "demo" if args.demo else plan.profile)
            if (problem := ledger_problem(db) or _open_to_all(plan, db)) is not None:
                return _fail(problem)
            if args.demo:
                _demo_ledger(db, args.demo_size)
                org = _simulated_org() | {"org_name": plan.org_name or "Demo org (simulated)"}
                config = service_config(plan, db, **org)
            else:
                config = service_config(plan, db)
        auth = "bearer token" if plan.api_token or _named_tokens(db) else "none, loopback only"
    except ValidationError as exc:
        return _fail(f"the service cannot start with these settings:\n{describe(exc)}")
    except (LedgerError, DatabaseError) as exc:
        return _fail(str(exc))
    service = SyncHealthService(config)
    host = f"[{plan.host}]" if ":" in plan.host else plan.host
    show(
        f"Sync Health service on http://{host}:{plan.port} "
        f"(mode: {config.mode}, ledger: {config.database or config.db_path}, auth: {auth})\n"
        f"{plan.summary()}"
    )
    server = uvicorn.Server(
        uvicorn.Config(service.asgi, host=plan.host, port=plan.port, log_level="warning")
    )
    server.run()
    if not server.started:
        say("serve", "the service did not start (the reason is above)")
        return 1
    return 0
