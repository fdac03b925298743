CREATE TABLE sync_jobs (
    seq           BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            TEXT        NOT NULL UNIQUE,
    kind          TEXT        NOT NULL,
    company_id    TEXT        NOT NULL,
    state         TEXT        NOT NULL,
    vendor_job_id TEXT        NOT NULL DEFAULT '',
    notify_email  TEXT        NOT NULL DEFAULT '',
    requested_by  TEXT        NOT NULL,
    client_id     TEXT        NOT NULL DEFAULT '',
    users_found   INTEGER,
    users_created INTEGER,
    users_updated INTEGER,
    last_error    TEXT        NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ
);

CREATE TABLE idempotency_keys (
    scope       TEXT        NOT NULL,
    idem_key    TEXT        NOT NULL,
    fingerprint TEXT        NOT NULL,
    done        BOOLEAN     NOT NULL DEFAULT false,
    status      INTEGER,
    header      TEXT,
    body        BYTEA,
    claimed_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    PRIMARY KEY (scope, idem_key)
);

CREATE TABLE audit_events (
    seq        BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         TEXT        NOT NULL UNIQUE,
    at         TIMESTAMPTZ NOT NULL,
    request_id TEXT        NOT NULL DEFAULT '',
    subject    TEXT        NOT NULL,
    client_id  TEXT        NOT NULL DEFAULT '',
    operation  TEXT        NOT NULL,
    target     TEXT        NOT NULL DEFAULT '',
    input      TEXT,
    outcome    TEXT        NOT NULL,
    status     INTEGER     NOT NULL DEFAULT 0,
    detail     TEXT        NOT NULL DEFAULT ''
);
