-- Each claim of an idempotency key carries its owner's token, so a request
-- whose lease lapsed and was taken over cannot finish or release the new
-- owner's claim.
ALTER TABLE idempotency_keys ADD COLUMN owner TEXT NOT NULL DEFAULT '';
