// Package postgres is the store engine for several replicas: every rule
// that must hold across them (one active sync per company, one owner per
// idempotency key, audit order) is enforced by PostgreSQL itself.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/partnerhub/gateway/internal/store"
	"github.com/partnerhub/gateway/internal/store/migrations"
)

// Advisory lock keys ("PHGW" + purpose). migrateLock serialises start-up
// migrations of replicas sharing a database; auditLock makes audit seq
// values commit in order, so a reader paging by seq never skips an event
// that committed late.
const (
	migrateLock int64 = 0x50484757_00000001
	auditLock   int64 = 0x50484757_00000002
)

// ErrForeignSchema: the database holds tables named like the gateway's
// that the gateway did not create. Open changes nothing then.
var ErrForeignSchema = errors.New("the database schema was not created by the gateway")

// Store is the PostgreSQL engine. Use Open.
type Store struct {
	pool      *pgxpool.Pool
	opts      store.Options
	closeOnce sync.Once
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at rawURL (postgres:// or postgresql://)
// and brings its schema up to date. Replicas may start at the same time:
// migrations run under an advisory lock, one replica after the other.
func Open(ctx context.Context, rawURL string, opts store.Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("postgres: invalid database URL: %s", scrub(err.Error(), rawURL))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s", scrub(err.Error(), rawURL))
	}
	s := &Store{pool: pool, opts: opts.WithDefaults()}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %s: %w", Redact(rawURL), scrubbed{err, scrub(err.Error(), rawURL)})
	}
	return s, nil
}

// Redact returns rawURL without its password, for logs and errors.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// scrub removes the URL's password from a driver message (pgx redacts on
// a best-effort basis only).
func scrub(msg, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "connection settings rejected"
	}
	pw, _ := u.User.Password()
	if pw == "" {
		pw = u.Query().Get("password")
	}
	if pw != "" {
		msg = strings.ReplaceAll(msg, pw, "xxxxx")
	}
	return msg
}

// scrubbed keeps an error inspectable (errors.Is) while its text drops
// the password.
type scrubbed struct {
	err error
	msg string
}

func (e scrubbed) Error() string { return e.msg }
func (e scrubbed) Unwrap() error { return e.err }

func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations.For(migrations.Postgres)
	if err != nil {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // a no-op after Commit
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
		return err
	}
	tables := map[string]bool{}
	rows, err := tx.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`)
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, n := range names {
		tables[n] = true
	}
	if !tables[migrations.Table] {
		for _, ours := range []string{"sync_jobs", "idempotency_keys", "audit_events"} {
			if tables[ours] {
				return fmt.Errorf("%w: table %s exists but %s does not", ErrForeignSchema, ours, migrations.Table)
			}
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE `+migrations.Table+` (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
			return err
		}
	} else {
		rows, err := tx.Query(ctx, `SELECT column_name::text FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1`, migrations.Table)
		if err != nil {
			return err
		}
		cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		have := strings.Join(cols, ",") + ","
		for _, c := range []string{"version", "name", "applied_at"} {
			if !strings.Contains(","+have, ","+c+",") {
				return fmt.Errorf("%w: its %s table belongs to another tool", ErrForeignSchema, migrations.Table)
			}
		}
	}
	rows, err = tx.Query(ctx, `SELECT version FROM `+migrations.Table)
	if err != nil {
		return err
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return err
	}
	applied := map[int]bool{}
	for _, v := range versions {
		applied[int(v)] = true
	}
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("version %d (%s): %w", m.Version, m.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+migrations.Table+` (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

func (s *Store) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := utc(*t)
	return &v
}

func isConstraint(err error, name string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == name
}

const syncJobColumns = `seq, id, kind, company_id, state, vendor_job_id, notify_email, requested_by, client_id,
	users_found, users_created, users_updated, last_error, created_at, updated_at, finished_at, detail`

// CreateSyncJob implements store.Store.
func (s *Store) CreateSyncJob(ctx context.Context, j store.SyncJob) (store.SyncJob, error) {
	j.CreatedAt = utc(j.CreatedAt)
	if j.UpdatedAt.IsZero() {
		j.UpdatedAt = j.CreatedAt
	}
	j.UpdatedAt, j.FinishedAt = utc(j.UpdatedAt), utcPtr(j.FinishedAt)
	err := s.pool.QueryRow(ctx, `INSERT INTO sync_jobs (id, kind, company_id, state, vendor_job_id, notify_email,
		requested_by, client_id, users_found, users_created, users_updated, last_error, created_at, updated_at, finished_at, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING seq`,
		j.ID, j.Kind, j.CompanyID, j.State, j.VendorJobID, j.NotifyEmail, j.RequestedBy, j.ClientID,
		j.UsersFound, j.Created, j.Updated, j.LastError, j.CreatedAt, j.UpdatedAt, j.FinishedAt, j.Detail).Scan(&j.Seq)
	if isConstraint(err, "sync_jobs_one_active") {
		return store.SyncJob{}, store.ErrSyncRunning
	}
	if err != nil {
		return store.SyncJob{}, fmt.Errorf("postgres: create sync job: %w", err)
	}
	return j, nil
}

// UpdateSyncJob implements store.Store.
func (s *Store) UpdateSyncJob(ctx context.Context, j store.SyncJob) error {
	tag, err := s.pool.Exec(ctx, `UPDATE sync_jobs SET state = $1, vendor_job_id = $2, users_found = $3,
		users_created = $4, users_updated = $5, last_error = $6, updated_at = $7, finished_at = $8, detail = $9 WHERE id = $10`,
		j.State, j.VendorJobID, j.UsersFound, j.Created, j.Updated, j.LastError, utc(j.UpdatedAt), utcPtr(j.FinishedAt), j.Detail, j.ID)
	if isConstraint(err, "sync_jobs_one_active") {
		return store.ErrSyncRunning
	}
	if err != nil {
		return fmt.Errorf("postgres: update sync job: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

func scanSyncJob(row pgx.Row) (store.SyncJob, error) {
	var j store.SyncJob
	err := row.Scan(&j.Seq, &j.ID, &j.Kind, &j.CompanyID, &j.State, &j.VendorJobID, &j.NotifyEmail, &j.RequestedBy,
		&j.ClientID, &j.UsersFound, &j.Created, &j.Updated, &j.LastError, &j.CreatedAt, &j.UpdatedAt, &j.FinishedAt, &j.Detail)
	if err != nil {
		return store.SyncJob{}, err
	}
	j.CreatedAt, j.UpdatedAt, j.FinishedAt = j.CreatedAt.UTC(), j.UpdatedAt.UTC(), utcPtr(j.FinishedAt)
	return j, nil
}

// SyncJob implements store.Store.
func (s *Store) SyncJob(ctx context.Context, id string) (store.SyncJob, error) {
	j, err := scanSyncJob(s.pool.QueryRow(ctx, `SELECT `+syncJobColumns+` FROM sync_jobs WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.SyncJob{}, store.ErrNotFound
	}
	if err != nil {
		return store.SyncJob{}, fmt.Errorf("postgres: sync job: %w", err)
	}
	return j, nil
}

// where builds a conjunction with numbered placeholders.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, v any) {
	w.args = append(w.args, v)
	w.conds = append(w.conds, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(w.args))))
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// syncJobWhere is f's filters (cursors included when paged).
func syncJobWhere(f store.SyncJobFilter, paged bool) *where {
	var w where
	if f.CompanyID != "" {
		w.add("company_id = ?", f.CompanyID)
	}
	if len(f.Kinds) > 0 {
		w.add("kind = ANY(?)", f.Kinds)
	}
	if len(f.CompanyIDs) > 0 {
		w.add("company_id = ANY(?)", f.CompanyIDs)
	}
	if len(f.States) > 0 {
		w.add("state = ANY(?)", f.States)
	}
	if paged && f.BeforeSeq > 0 && !f.Oldest {
		w.add("seq < ?", f.BeforeSeq)
	}
	if paged && f.AfterSeq > 0 && f.Oldest {
		w.add("seq > ?", f.AfterSeq)
	}
	return &w
}

// CountSyncJobs implements store.Store.
func (s *Store) CountSyncJobs(ctx context.Context, f store.SyncJobFilter) (int, error) {
	w := syncJobWhere(f, false)
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM sync_jobs`+w.sql(), w.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count sync jobs: %w", err)
	}
	return n, nil
}

// ListSyncJobs implements store.Store.
func (s *Store) ListSyncJobs(ctx context.Context, f store.SyncJobFilter) ([]store.SyncJob, error) {
	w := syncJobWhere(f, true)
	dir := "DESC"
	if f.Oldest {
		dir = "ASC"
	}
	q := `SELECT ` + syncJobColumns + ` FROM sync_jobs` + w.sql() + fmt.Sprintf(" ORDER BY seq %s LIMIT %d", dir, store.Limit(f.Limit))
	rows, err := s.pool.Query(ctx, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list sync jobs: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.SyncJob, error) { return scanSyncJob(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list sync jobs: %w", err)
	}
	if out == nil {
		out = []store.SyncJob{}
	}
	return out, nil
}

// BeginIdempotent implements store.Store. The claim is one statement: an
// insert that, on conflict, takes the row over only when it has lapsed.
// PostgreSQL locks the conflicting row, so of several concurrent callers
// on any replica exactly one inserts or takes over.
func (s *Store) BeginIdempotent(ctx context.Context, scope, key, fingerprint string) (*store.StoredResponse, string, error) {
	owner := store.NewOwner()
	for range 3 {
		now := s.now()
		var claimed string
		err := s.pool.QueryRow(ctx, `INSERT INTO idempotency_keys (scope, idem_key, fingerprint, done, claimed_at, owner)
			VALUES ($1, $2, $3, false, $4, $7)
			ON CONFLICT (scope, idem_key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, done = false, owner = EXCLUDED.owner,
				status = NULL, header = NULL, body = NULL, claimed_at = EXCLUDED.claimed_at, finished_at = NULL
			WHERE (NOT idempotency_keys.done AND idempotency_keys.claimed_at <= $5)
			   OR (idempotency_keys.done AND idempotency_keys.finished_at <= $6)
			RETURNING scope`,
			scope, key, fingerprint, now, now.Add(-s.opts.IdempotencyLease), now.Add(-s.opts.IdempotencyRetention), owner).Scan(&claimed)
		if err == nil {
			return nil, owner, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, "", fmt.Errorf("postgres: claim idempotency key: %w", err)
		}
		var (
			fp     string
			done   bool
			status *int32
			header *string
			body   []byte
		)
		err = s.pool.QueryRow(ctx, `SELECT fingerprint, done, status, header, body FROM idempotency_keys
			WHERE scope = $1 AND idem_key = $2`, scope, key).Scan(&fp, &done, &status, &header, &body)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // released in between: try to claim again
		}
		if err != nil {
			return nil, "", fmt.Errorf("postgres: read idempotency key: %w", err)
		}
		if fp != fingerprint {
			return nil, "", store.ErrKeyMismatch
		}
		if !done {
			return nil, "", store.ErrKeyInFlight
		}
		r := &store.StoredResponse{Header: http.Header{}, Body: body}
		if status != nil {
			r.Status = int(*status)
		}
		if header != nil && *header != "" {
			if err := json.Unmarshal([]byte(*header), &r.Header); err != nil {
				return nil, "", fmt.Errorf("postgres: stored header: %w", err)
			}
		}
		if r.Body == nil {
			r.Body = []byte{}
		}
		return r, "", nil
	}
	return nil, "", store.ErrKeyInFlight
}

// FinishIdempotent implements store.Store. ErrNotFound when the claim is
// gone (released, or lapsed and taken over).
func (s *Store) FinishIdempotent(ctx context.Context, scope, key, owner string, r store.StoredResponse) error {
	header, err := json.Marshal(r.Header)
	if err != nil {
		return err
	}
	body := r.Body
	if body == nil {
		body = []byte{}
	}
	tag, err := s.pool.Exec(ctx, `UPDATE idempotency_keys SET done = true, status = $1, header = $2, body = $3, finished_at = $4
		WHERE scope = $5 AND idem_key = $6 AND NOT done AND owner = $7`, r.Status, string(header), body, s.now(), scope, key, owner)
	if err != nil {
		return fmt.Errorf("postgres: finish idempotency key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// ReleaseIdempotent implements store.Store.
func (s *Store) ReleaseIdempotent(ctx context.Context, scope, key, owner string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE scope = $1 AND idem_key = $2 AND NOT done AND owner = $3`, scope, key, owner); err != nil {
		return fmt.Errorf("postgres: release idempotency key: %w", err)
	}
	return nil
}

// AppendAudit implements store.Store. The advisory lock is taken in the
// same statement (and so the same transaction) as the insert: seq values
// are drawn and committed one append at a time.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEvent) error {
	var input *string
	if len(e.Input) > 0 {
		v := string(e.Input)
		input = &v
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO audit_events (id, at, request_id, subject, client_id, operation,
		target, input, outcome, status, detail)
		SELECT $2::text, $3::timestamptz, $4::text, $5::text, $6::text, $7::text, $8::text, $9::text, $10::text, $11::int, $12::text
		FROM (SELECT pg_advisory_xact_lock($1::bigint)) AS serialize`,
		auditLock, e.ID, utc(e.Time), e.RequestID, e.Subject, e.ClientID, e.Operation, e.Target, input, e.Outcome, e.Status, e.Detail)
	if err != nil {
		return fmt.Errorf("postgres: append audit event: %w", err)
	}
	return nil
}

// FinishAudit implements store.Store.
func (s *Store) FinishAudit(ctx context.Context, id, outcome string, status int, detail string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE audit_events SET outcome = $1, status = $2, detail = $3 WHERE id = $4`,
		outcome, status, detail, id)
	if err != nil {
		return fmt.Errorf("postgres: finish audit event: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// auditWhere is f's filters (cursors included when paged).
func auditWhere(f store.AuditFilter, paged bool) *where {
	var w where
	if !f.From.IsZero() {
		w.add("at >= ?", f.From)
	}
	if !f.To.IsZero() {
		w.add("at < ?", f.To)
	}
	if f.Subject != "" {
		w.add("subject = ?", f.Subject)
	}
	if len(f.Operations) > 0 {
		w.add("operation = ANY(?)", f.Operations)
	}
	if paged && f.AfterSeq > 0 && !f.Newest {
		w.add("seq > ?", f.AfterSeq)
	}
	if paged && f.BeforeSeq > 0 && f.Newest {
		w.add("seq < ?", f.BeforeSeq)
	}
	return &w
}

// CountAudit implements store.Store.
func (s *Store) CountAudit(ctx context.Context, f store.AuditFilter) (int, error) {
	w := auditWhere(f, false)
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM audit_events`+w.sql(), w.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count audit events: %w", err)
	}
	return n, nil
}

// ListAudit implements store.Store.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	w := auditWhere(f, true)
	dir := "ASC"
	if f.Newest {
		dir = "DESC"
	}
	q := `SELECT seq, id, at, request_id, subject, client_id, operation, target, input, outcome, status, detail
		FROM audit_events` + w.sql() + fmt.Sprintf(" ORDER BY seq %s LIMIT %d", dir, store.Limit(f.Limit))
	rows, err := s.pool.Query(ctx, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list audit events: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.AuditEvent, error) {
		var (
			e      store.AuditEvent
			input  *string
			status int32
		)
		err := r.Scan(&e.Seq, &e.ID, &e.Time, &e.RequestID, &e.Subject, &e.ClientID, &e.Operation, &e.Target,
			&input, &e.Outcome, &status, &e.Detail)
		e.Time, e.Status = e.Time.UTC(), int(status)
		if input != nil {
			e.Input = json.RawMessage(*input)
		}
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list audit events: %w", err)
	}
	if out == nil {
		out = []store.AuditEvent{}
	}
	return out, nil
}

// Purge implements store.Store: answers past their retention and claims
// past their lease are deleted.
func (s *Store) Purge(ctx context.Context) error {
	now := s.now()
	_, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys
		WHERE (done AND finished_at <= $1) OR (NOT done AND claimed_at <= $2)`,
		now.Add(-s.opts.IdempotencyRetention), now.Add(-s.opts.IdempotencyLease))
	if err != nil {
		return fmt.Errorf("postgres: purge: %w", err)
	}
	return nil
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// Close implements store.Store; it is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(s.pool.Close)
	return nil
}
