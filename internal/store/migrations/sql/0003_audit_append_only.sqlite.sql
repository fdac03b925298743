-- The audit trail is append-only: events are never deleted, and only the
-- outcome, status and detail of an event may change (FinishAudit).
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_no_rewrite
BEFORE UPDATE OF seq, id, at, request_id, subject, client_id, operation, target, input ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
