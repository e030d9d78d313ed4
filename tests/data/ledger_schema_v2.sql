-- The ledger schema as synchealth 0.1 (schema version 2) wrote it: tui/service/schema.sql
-- at commit d689433, kept so tests/test_ledger_migration.py can build a real version-2 ledger.
-- The Sync Health service's ledger (SQLite, WAL). Version 2.
-- Every statement is idempotent: opening a ledger runs this file, which creates
-- what an older version lacks (version 2 added ingest_batches, and the index
-- errors_by_record that tui/service/ledger.py builds after this file has run).
-- Times are ISO-8601 UTC text 'YYYY-MM-DDTHH:MM:SSZ', which sorts as time.

CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);  -- schema_version, org_name, mode, next_seq

CREATE TABLE IF NOT EXISTS errors (
    id          INTEGER PRIMARY KEY,
    seq         INTEGER NOT NULL,           -- change sequence, unique, grows on every change
    type        TEXT NOT NULL,
    subtype     TEXT NOT NULL,              -- 'picklist.restricted_value'
    object_type TEXT NOT NULL,              -- CRM side: contact | company | deal | task
    record_id   TEXT NOT NULL,              -- CRM record id
    record_name TEXT NOT NULL,
    sf_object   TEXT NOT NULL,              -- Lead | Contact | Account | Opportunity | Task
    sf_id       TEXT,                       -- may be missing (never synced)
    direction   TEXT NOT NULL,              -- to_salesforce | from_salesforce
    sf_code     TEXT NOT NULL,
    message     TEXT NOT NULL,
    fields      TEXT NOT NULL,              -- JSON list of field API names
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    status      TEXT NOT NULL,              -- open | resolved
    payload     TEXT NOT NULL               -- JSON: what a resync re-sends (see docs/architecture.md)
);
CREATE UNIQUE INDEX IF NOT EXISTS errors_by_seq ON errors(seq);

CREATE TABLE IF NOT EXISTS attempts (
    error_id   INTEGER NOT NULL REFERENCES errors(id),
    at         TEXT NOT NULL,
    outcome    TEXT NOT NULL,               -- failed | synced
    sf_code    TEXT NOT NULL,
    message    TEXT NOT NULL,
    request_id TEXT
);
CREATE INDEX IF NOT EXISTS attempts_by_error ON attempts(error_id);

CREATE TABLE IF NOT EXISTS resync_requests (
    request_id TEXT PRIMARY KEY,
    created    TEXT NOT NULL,
    state      TEXT NOT NULL,               -- started | done | interrupted
    error_ids  TEXT NOT NULL,               -- JSON list
    result     TEXT                         -- JSON ResyncResult once done
);

CREATE TABLE IF NOT EXISTS ingest_batches (
    batch_id TEXT PRIMARY KEY,              -- chosen by the sync engine (POST /v1/errors)
    created  TEXT NOT NULL,
    digest   TEXT NOT NULL,                 -- sha256 of the batch's items
    result   TEXT NOT NULL                  -- JSON IngestResult
);

CREATE TABLE IF NOT EXISTS usage_hourly (
    hour  TEXT PRIMARY KEY,                 -- start of the hour
    calls INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL                     -- JSON
);  -- allocated, notifications

-- Notifications (tui/service/notify, docs/notifications.md) -------------------------

CREATE TABLE IF NOT EXISTS notify_outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- ids only grow: they name messages
    kind         TEXT NOT NULL,         -- immediate | daily | weekly | usage_alert | usage_recovered | test
    channel      TEXT NOT NULL,         -- email | webhook
    status       TEXT NOT NULL,         -- pending | sent | failed
    subject      TEXT NOT NULL,
    body         TEXT NOT NULL,         -- plain text, the same on every attempt
    data         TEXT NOT NULL,         -- JSON: the facts the webhook carries beside the text
    recipients   TEXT NOT NULL,         -- JSON list of addresses (email), fixed when queued
    created      TEXT NOT NULL,
    attempts     INTEGER NOT NULL,
    last_attempt TEXT,
    next_attempt TEXT,                  -- when a pending row is tried next; NULL otherwise
    error        TEXT NOT NULL          -- the last failure, or a partial refusal (never a secret)
);
CREATE INDEX IF NOT EXISTS notify_outbox_due ON notify_outbox(status, next_attempt);

CREATE TABLE IF NOT EXISTS notify_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL                 -- JSON
);  -- announced_id, digest, usage_level (see tui/service/notify/state.py)
