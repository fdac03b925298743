-- At most one active sync per kind and company, across every replica: the
-- insert that would make a second one fails with a unique violation.
CREATE UNIQUE INDEX sync_jobs_one_active ON sync_jobs (kind, company_id)
    WHERE state IN ('pending', 'running');
CREATE INDEX sync_jobs_company ON sync_jobs (company_id, seq);

CREATE INDEX idempotency_keys_claimed ON idempotency_keys (claimed_at) WHERE finished_at IS NULL;
CREATE INDEX idempotency_keys_finished ON idempotency_keys (finished_at);

CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_subject ON audit_events (subject, seq);
CREATE INDEX audit_events_operation ON audit_events (operation, seq);
