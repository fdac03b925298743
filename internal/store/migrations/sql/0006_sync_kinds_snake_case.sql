-- Sync job kinds follow the API's one enum style, snake_case (contract
-- 2.0.0): gdap-customers -> gdap_customers and so on. Readers still accept
-- the old values (model.SyncKind) for rows written by an older replica
-- during a rolling upgrade.
UPDATE sync_jobs SET kind = 'gdap_customers' WHERE kind = 'gdap-customers';
UPDATE sync_jobs SET kind = 'axema_users' WHERE kind = 'axema-users';
UPDATE sync_jobs SET kind = 'gdap_onboarding' WHERE kind = 'gdap-onboarding';
