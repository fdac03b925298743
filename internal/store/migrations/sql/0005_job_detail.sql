-- A job kind's own structured state (an onboarding's steps, as JSON),
-- opaque to the store.
ALTER TABLE sync_jobs ADD COLUMN detail TEXT NOT NULL DEFAULT '';
