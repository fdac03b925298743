-- The audit trail is append-only: events are never deleted, and only the
-- outcome, status and detail of an event may change (FinishAudit).
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
        OR NEW.seq IS DISTINCT FROM OLD.seq OR NEW.id IS DISTINCT FROM OLD.id
        OR NEW.at IS DISTINCT FROM OLD.at OR NEW.request_id IS DISTINCT FROM OLD.request_id
        OR NEW.subject IS DISTINCT FROM OLD.subject OR NEW.client_id IS DISTINCT FROM OLD.client_id
        OR NEW.operation IS DISTINCT FROM OLD.operation OR NEW.target IS DISTINCT FROM OLD.target
        OR NEW.input IS DISTINCT FROM OLD.input THEN
        RAISE EXCEPTION 'audit_events is append-only';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
