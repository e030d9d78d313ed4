-- The Sync Health service's ledger (SQLite, WAL). Version 6.
-- Every statement is idempotent: opening a ledger runs this file, which creates
-- what an older version lacks (version 2 added ingest_batches, and the index
-- errors_by_record that tui/service/ledger.py builds after this file has run;
-- version 3 added engine_requests; version 4 ignores, ignored_errors and
-- ignore_requests, and the status 'ignored'). Changes to tables an older version created
-- (version 3: attempts.sent) are numbered steps in tui/service/migrations.py.
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
    status      TEXT NOT NULL,              -- open | resolved | ignored (version 4)
    payload     TEXT NOT NULL               -- JSON: what a resync re-sends (see docs/architecture.md)
);
CREATE UNIQUE INDEX IF NOT EXISTS errors_by_seq ON errors(seq);

CREATE TABLE IF NOT EXISTS error_causes (   -- the cause of each error (tui/service/causes.py)
    error_id   INTEGER PRIMARY KEY REFERENCES errors(id),
    cause      TEXT NOT NULL,               -- 16 hex digits of subtype, object, message shape
    seq        INTEGER NOT NULL,            -- the error's seq when this row was written
    open       INTEGER NOT NULL,            -- 1 open, 0 resolved, -1 ignored (trends.py)
    record_id  TEXT NOT NULL,
    first_seen TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS error_causes_by_cause ON error_causes(cause, open, first_seen);

CREATE TABLE IF NOT EXISTS cause_totals (   -- kept from error_causes, change by change
    cause           TEXT PRIMARY KEY,
    type            TEXT NOT NULL,
    subtype         TEXT NOT NULL,
    sf_object       TEXT NOT NULL,
    open_errors     INTEGER NOT NULL,
    records         INTEGER NOT NULL,       -- records with an open error of the cause
    first_seen      TEXT NOT NULL,          -- of any error of the cause
    last_seen       TEXT NOT NULL,
    sample_error_id INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS cause_totals_by_open ON cause_totals(open_errors);

-- Daily figures per series (tui/service/trends.py), version 5 ---------------------------
CREATE TABLE IF NOT EXISTS trend_days (
    series     TEXT NOT NULL,               -- 'all' | 'type:<type>' | 'cause:<cause>'
    day        TEXT NOT NULL,               -- 'YYYY-MM-DD' (UTC); '' sums the days pruned
    new        INTEGER NOT NULL,            -- errors first seen that day
    resolved   INTEGER NOT NULL,
    recurring  INTEGER NOT NULL,            -- resolved errors failing again that day
    open_delta INTEGER NOT NULL,            -- how the open count moved that day
    PRIMARY KEY (series, day)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS cause_records (  -- open errors per cause and record
    cause       TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    open_errors INTEGER NOT NULL,
    PRIMARY KEY (cause, record_id)
);

CREATE TABLE IF NOT EXISTS attempts (
    error_id   INTEGER NOT NULL REFERENCES errors(id),
    at         TEXT NOT NULL,
    outcome    TEXT NOT NULL,               -- failed | synced | resolved (by the sync engine)
                                            -- | requested | expired (engine requests)
    sf_code    TEXT NOT NULL,
    message    TEXT NOT NULL,
    request_id TEXT,
    sent       TEXT                         -- JSON record a direct resync sent (version 3)
);
CREATE INDEX IF NOT EXISTS attempts_by_error ON attempts(error_id);

CREATE TABLE IF NOT EXISTS resync_requests (
    request_id TEXT PRIMARY KEY,
    created    TEXT NOT NULL,
    state      TEXT NOT NULL,               -- started | done | interrupted
    error_ids  TEXT NOT NULL,               -- JSON list
    result     TEXT,                        -- JSON ResyncResult once done
    owner      TEXT                         -- the replica sending it (tui/service/replicas.py)
);

-- One row per live `serve` process on this ledger; a request whose owner's heartbeat
-- stopped is interrupted by the next sweep (tui/service/replicas.py).
CREATE TABLE IF NOT EXISTS replicas (
    replica_id TEXT PRIMARY KEY,
    started    TEXT NOT NULL,
    heartbeat  TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS ingest_batches (
    batch_id TEXT PRIMARY KEY,              -- chosen by the sync engine (POST /v1/errors)
    created  TEXT NOT NULL,
    digest   TEXT NOT NULL,                 -- sha256 of the batch's items
    result   TEXT NOT NULL                  -- JSON IngestResult
);

-- Engine-mode resyncs: a request to the sync engine to re-read one record from the CRM
-- and sync it (docs/api.md, /v1/engine/requests).
CREATE TABLE IF NOT EXISTS engine_requests (
    request_id  TEXT PRIMARY KEY,
    object_type TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    direction   TEXT NOT NULL,
    error_ids   TEXT NOT NULL,              -- JSON list: the open errors it answers for
    record      TEXT NOT NULL,              -- JSON: sf_object, sf_id, external_id
    created     TEXT NOT NULL,
    expires     TEXT NOT NULL,              -- unanswered by then: expired
    state       TEXT NOT NULL,              -- waiting | answered | expired
    lease_until TEXT,                       -- taken by a worker until then (state waiting)
    answered    TEXT,
    outcome     TEXT                        -- failed | synced, once answered
);
CREATE INDEX IF NOT EXISTS engine_requests_by_state ON engine_requests(state, created);
CREATE INDEX IF NOT EXISTS engine_requests_by_record
    ON engine_requests(object_type, record_id, direction, state);

-- Resync jobs of up to 50,000 errors, worked through in the background (tui/service/jobs.py).
CREATE TABLE IF NOT EXISTS resync_jobs (
    job_id      TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL UNIQUE,       -- the client's, makes POST /v1/resync/jobs safe to retry
    created     TEXT NOT NULL,
    state       TEXT NOT NULL,              -- running | done | cancelled
    total       INTEGER NOT NULL,
    calls       INTEGER NOT NULL,           -- Salesforce calls spent so far
    waiting     TEXT,                       -- why it waits, while it waits
    wait_until  TEXT,                       -- until when (NULL: not known, or not waiting)
    finished    TEXT,
    actor       TEXT NOT NULL DEFAULT ''  -- who started it (history.actor_of)
);
CREATE TABLE IF NOT EXISTS resync_job_items (
    job_id   TEXT NOT NULL REFERENCES resync_jobs(job_id),
    error_id INTEGER NOT NULL,
    chunk    INTEGER NOT NULL,              -- 200 errors each, sent as one resync request
    state    TEXT NOT NULL,                 -- pending | synced | failed | skipped | unknown | cancelled
    outcome  TEXT,                          -- JSON ResyncOutcome once known
    PRIMARY KEY (job_id, error_id)
);
CREATE INDEX IF NOT EXISTS resync_job_items_by_chunk ON resync_job_items(job_id, state, chunk);
CREATE INDEX IF NOT EXISTS resync_job_items_by_error ON resync_job_items(error_id, state);

CREATE TABLE IF NOT EXISTS usage_hourly (
    hour  TEXT PRIMARY KEY,                 -- start of the hour
    calls INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS usage_calls (   -- the same calls by what they were for
    hour    TEXT NOT NULL,                  -- start of the hour
    kind    TEXT NOT NULL,                  -- limits | versions | describe | update | upsert | other
    sobject TEXT NOT NULL,                  -- '' when the call is about no object
    calls   INTEGER NOT NULL,
    PRIMARY KEY (hour, kind, sobject)
);

CREATE TABLE IF NOT EXISTS settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL                     -- JSON
);  -- allocated, notifications

-- Notifications (tui/service/notify, docs/notifications.md) -------------------------

CREATE TABLE IF NOT EXISTS notify_outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- ids only grow: they name messages
    kind         TEXT NOT NULL,         -- immediate | daily | weekly | usage_alert | usage_recovered
                                        -- | retries_paused | retries_resumed | cause_alert | test
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
);  -- announced_id, digest, usage_level, alerts (see tui/service/notify/state.py)

-- Alert mode (tui/service/notify/cause_alerts.py): what it last saw of each cause, the
-- state changes already queued (so one is never queued twice), and the mutes.
CREATE TABLE IF NOT EXISTS notify_causes (
    cause      TEXT PRIMARY KEY,
    open       INTEGER NOT NULL,        -- 1: had open errors; 0: cleared (announced)
    surging    INTEGER NOT NULL,        -- 1: past alert_errors new errors in alert_minutes
    cleared_at TEXT,                    -- when its last clear was announced
    zero_since TEXT                     -- open = 1 but no open error since: a clear to come
);

CREATE TABLE IF NOT EXISTS notify_alert_keys (
    key     TEXT PRIMARY KEY,           -- change:cause:the seq or error id that made it
    created TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS notify_mutes (
    cause    TEXT PRIMARY KEY,
    until    TEXT NOT NULL,             -- alerts of the cause are held back until then
    muted_at TEXT NOT NULL,
    actor    TEXT NOT NULL
);

-- History (GET /v1/history, tui/service/history.py) ----------------------------------

CREATE TABLE IF NOT EXISTS history (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,  -- the cursor: ids only grow, newest last
    at      TEXT NOT NULL,
    kind    TEXT NOT NULL,      -- resync | report | ignore | unignore | reopen; version 6: job |
                                -- allocation | notifications | retries | mute | unmute | token
    ref     TEXT,               -- request_id of a resync, batch_id of a report (may be NULL)
    actor   TEXT NOT NULL,      -- who: X-Synchealth-Actor (user@host), else the client's address
    summary TEXT NOT NULL       -- JSON: state, counts and the error ids touched
);

-- Ignores (POST /v1/ignores, tui/service/ignores.py): an ignored error has the status
-- 'ignored' and one row in ignored_errors while it is; it reopens when the ignore
-- expires, when it is unignored, or when it fails again with another cause.

CREATE TABLE IF NOT EXISTS ignores (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created    TEXT NOT NULL,
    actor      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    expires_at TEXT,                    -- NULL: until unignored
    cause      TEXT                     -- the cause key when a whole cause was ignored
);
CREATE TABLE IF NOT EXISTS ignored_errors (
    error_id   INTEGER PRIMARY KEY REFERENCES errors(id),
    ignore_id  INTEGER NOT NULL REFERENCES ignores(id),
    cause      TEXT NOT NULL,           -- the error's cause when ignored
    expires_at TEXT                     -- the ignore's, copied: the expiry sweep's index
);
CREATE INDEX IF NOT EXISTS ignored_errors_by_expiry ON ignored_errors(expires_at)
    WHERE expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS ignored_errors_by_ignore ON ignored_errors(ignore_id);
CREATE TABLE IF NOT EXISTS ignore_requests (  -- makes an ignore or unignore safe to retry
    request_id TEXT PRIMARY KEY,
    created    TEXT NOT NULL,
    digest     TEXT NOT NULL,           -- sha256 of the request's body
    result     TEXT NOT NULL            -- JSON IgnoreResult
);

-- Named API tokens (tui/service/tokens.py), version 6: only a token's SHA-256 is kept;
-- rows are revoked, never deleted.
CREATE TABLE IF NOT EXISTS api_tokens (
    name         TEXT PRIMARY KEY,
    digest       TEXT NOT NULL UNIQUE,   -- hex SHA-256 of the token
    created      TEXT NOT NULL,
    created_by   TEXT NOT NULL,          -- cli:<os user>
    last_used    TEXT,                   -- written at most once a minute
    revoked      TEXT,                   -- when; NULL while valid
    revoked_by   TEXT,
    last_refused TEXT                    -- when it was last sent after its revocation
);
