-- Times are unix microseconds (UTC), the precision PostgreSQL keeps, so
-- both engines hand back the same values.
CREATE TABLE sync_jobs (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT    NOT NULL UNIQUE,
    kind          TEXT    NOT NULL,
    company_id    TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    vendor_job_id TEXT    NOT NULL DEFAULT '',
    notify_email  TEXT    NOT NULL DEFAULT '',
    requested_by  TEXT    NOT NULL,
    client_id     TEXT    NOT NULL DEFAULT '',
    users_found   INTEGER,
    users_created INTEGER,
    users_updated INTEGER,
    last_error    TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    finished_at   INTEGER
) STRICT;

CREATE TABLE idempotency_keys (
    scope       TEXT    NOT NULL,
    idem_key    TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    done        INTEGER NOT NULL DEFAULT 0,
    status      INTEGER,
    header      TEXT,
    body        BLOB,
    claimed_at  INTEGER NOT NULL,
    finished_at INTEGER,
    PRIMARY KEY (scope, idem_key)
) STRICT;

CREATE TABLE audit_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT    NOT NULL UNIQUE,
    at         INTEGER NOT NULL,
    request_id TEXT    NOT NULL DEFAULT '',
    subject    TEXT    NOT NULL,
    client_id  TEXT    NOT NULL DEFAULT '',
    operation  TEXT    NOT NULL,
    target     TEXT    NOT NULL DEFAULT '',
    input      TEXT,
    outcome    TEXT    NOT NULL,
    status     INTEGER NOT NULL DEFAULT 0,
    detail     TEXT    NOT NULL DEFAULT ''
) STRICT;
