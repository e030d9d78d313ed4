"""One replica for ``replicas_load.py``: the service on a PostgreSQL URL under uvicorn,
as ``synchealth serve --db postgresql://... --org-url URL`` will start it once serve
takes a PostgreSQL URL (branch pg); until then the load test starts this instead.

    python bench/_replica.py --db URL --port N --org-url URL   (token in BENCH_SF_TOKEN)
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import uvicorn

from tui.service.app import SyncHealthService
from tui.service.config import ServiceConfig
from tui.service.db import PostgresTarget


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--org-url", required=True)
    args = parser.parse_args()
    config = ServiceConfig(
        db_path=Path(os.devnull),  # unused: the ledger is the PostgreSQL database
        database=PostgresTarget(args.db),
        org_url=args.org_url,
        org_token=os.environ["BENCH_SF_TOKEN"],
        org_name="Bench org",
    )
    service = SyncHealthService(config)
    uvicorn.run(service.asgi, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
