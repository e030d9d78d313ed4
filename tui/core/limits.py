"""The limits the console, the service and the simulated org share, each defined once."""

from __future__ import annotations

#: The help article's limit: one resync request takes at most 100 errors.
RESYNC_MAX_IDS = 100
#: A resync job (``POST /v1/resync/jobs``) takes at most this many errors.
JOB_MAX_IDS = 50_000
#: The largest id SQLite stores (a signed 64-bit integer).
MAX_ID = 2**63 - 1
#: Salesforce's sObject Collections take at most 200 records per call.
RECORDS_PER_CALL = 200
