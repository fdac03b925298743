// Package sqlite is the embedded store engine: one database file next to
// the gateway, through modernc.org/sqlite (pure Go, no cgo). It suits a
// single replica; several replicas share PostgreSQL instead.
//
// Writes go through one connection, so they queue in Go (honouring ctx)
// instead of spinning on SQLite's busy lock; reads use a small pool of
// their own, which WAL mode lets run beside the writer.
package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/partnerhub/gateway/internal/store"
	"github.com/partnerhub/gateway/internal/store/migrations"
)

// applicationID marks the file as the gateway's in the SQLite header
// ("PHGW"), so another program's database is recognised before it is
// touched.
const applicationID = 0x50484757

// ErrForeignFile: the file at the path is not a gateway database. Open
// leaves such a file exactly as it was.
var ErrForeignFile = errors.New("not a gateway database")

// Store is the embedded engine. Use Open.
type Store struct {
	w, r      *sql.DB // one writer connection; a pool of readers
	opts      store.Options
	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it if absent) the database file at path and brings
// its schema up to date. A file that is not an SQLite database, or an
// SQLite database of another application, is refused with ErrForeignFile
// before anything is written to it.
func Open(ctx context.Context, path string, opts store.Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if err := checkFile(ctx, abs); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", abs, err)
	}
	// The writer's PRAGMAs switch the file to WAL mode; they run only now
	// that the file is known to be ours or empty.
	common := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	w, err := sql.Open("sqlite", dsn(abs, common+"&_pragma=journal_mode(WAL)&_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w, opts: opts.WithDefaults()}
	if err := s.migrate(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: %s: migrating: %w", abs, err)
	}
	r, err := sql.Open("sqlite", dsn(abs, common+"&_pragma=query_only(1)"))
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	s.r = r
	return s, nil
}

// dsn builds a file: URI so that any character in the path is safe.
func dsn(abs, query string) string {
	return "file:" + (&url.URL{Path: filepath.ToSlash(abs)}).EscapedPath() + "?" + query
}

// checkFile makes sure path is absent (it is then created, empty and
// private), empty, or a gateway database. It opens an existing file
// read-only, so a foreign one is left byte-for-byte as it was.
func checkFile(ctx context.Context, path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		// Created here so that the file is private from the start; SQLite
		// would use the umask.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		return f.Close()
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: not a regular file", ErrForeignFile)
	}
	if fi.Size() == 0 {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	header := make([]byte, 100)
	_, err = io.ReadFull(f, header)
	_ = f.Close()
	if err != nil || !bytes.HasPrefix(header, []byte("SQLite format 3\x00")) {
		return fmt.Errorf("%w: the file is not an SQLite database", ErrForeignFile)
	}
	if id := binary.BigEndian.Uint32(header[68:72]); id != 0 && id != applicationID {
		return fmt.Errorf("%w: the SQLite database belongs to another application (application_id %#x)", ErrForeignFile, id)
	}

	db, err := sql.Open("sqlite", dsn(path, "mode=ro&_pragma=busy_timeout(10000)"))
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }() // read-only probe
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`)
	if err != nil {
		return fmt.Errorf("%w: cannot read its schema: %v", ErrForeignFile, err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			_ = rows.Close()
			return err
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		_ = rows.Close()
		return err
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if len(tables) == 0 {
		return nil // a new, empty database
	}
	ours := false
	for _, t := range tables {
		ours = ours || t == migrations.Table
	}
	if !ours {
		return fmt.Errorf("%w: it has tables (%s) but no %s table", ErrForeignFile, strings.Join(tables, ", "), migrations.Table)
	}
	return checkMigrationsTable(ctx, db)
}

// checkMigrationsTable refuses a schema_migrations table of another tool.
func checkMigrationsTable(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT name FROM pragma_table_info('`+migrations.Table+`')`)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	cols := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return err
		}
		cols[c] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if !cols["version"] || !cols["name"] || !cols["applied_at"] {
		return fmt.Errorf("%w: its %s table belongs to another tool", ErrForeignFile, migrations.Table)
	}
	return nil
}

// migrate applies the missing migrations, each in its own transaction.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations.For(migrations.SQLite)
	if err != nil {
		return err
	}
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+migrations.Table+` (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))`); err != nil {
		return err
	}
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", applicationID)); err != nil {
		return err
	}
	for _, m := range ms {
		if err := s.apply(ctx, m); err != nil {
			return fmt.Errorf("version %d (%s): %w", m.Version, m.Name, err)
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, m migrations.Migration) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+migrations.Table+` WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+migrations.Table+` (version, name) VALUES (?, ?)`, m.Version, m.Name); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *Store) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func nullInt(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// isUniqueViolation reports a UNIQUE constraint failure naming index or
// columns (SQLite names the columns, or the index for a partial one).
func isUniqueViolation(err error, names ...string) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) || se.Code() != sqlite3.SQLITE_CONSTRAINT_UNIQUE {
		return false
	}
	for _, n := range names {
		if strings.Contains(se.Error(), n) {
			return true
		}
	}
	return false
}

const syncJobColumns = `seq, id, kind, company_id, state, vendor_job_id, notify_email, requested_by, client_id,
	users_found, users_created, users_updated, last_error, created_at, updated_at, finished_at, detail`

// CreateSyncJob implements store.Store.
func (s *Store) CreateSyncJob(ctx context.Context, j store.SyncJob) (store.SyncJob, error) {
	j.CreatedAt = j.CreatedAt.UTC().Truncate(time.Microsecond)
	if j.UpdatedAt.IsZero() {
		j.UpdatedAt = j.CreatedAt
	}
	j.UpdatedAt = j.UpdatedAt.UTC().Truncate(time.Microsecond)
	if j.FinishedAt != nil {
		f := j.FinishedAt.UTC().Truncate(time.Microsecond)
		j.FinishedAt = &f
	}
	err := s.w.QueryRowContext(ctx, `INSERT INTO sync_jobs (id, kind, company_id, state, vendor_job_id, notify_email,
		requested_by, client_id, users_found, users_created, users_updated, last_error, created_at, updated_at, finished_at, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
		j.ID, j.Kind, j.CompanyID, j.State, j.VendorJobID, j.NotifyEmail, j.RequestedBy, j.ClientID,
		nullInt(j.UsersFound), nullInt(j.Created), nullInt(j.Updated), j.LastError,
		micros(j.CreatedAt), micros(j.UpdatedAt), nullMicros(j.FinishedAt), j.Detail).Scan(&j.Seq)
	if isUniqueViolation(err, "sync_jobs_one_active", "sync_jobs.kind") {
		return store.SyncJob{}, store.ErrSyncRunning
	}
	if err != nil {
		return store.SyncJob{}, fmt.Errorf("sqlite: create sync job: %w", err)
	}
	return j, nil
}

// UpdateSyncJob implements store.Store.
func (s *Store) UpdateSyncJob(ctx context.Context, j store.SyncJob) error {
	res, err := s.w.ExecContext(ctx, `UPDATE sync_jobs SET state = ?, vendor_job_id = ?, users_found = ?,
		users_created = ?, users_updated = ?, last_error = ?, updated_at = ?, finished_at = ?, detail = ? WHERE id = ?`,
		j.State, j.VendorJobID, nullInt(j.UsersFound), nullInt(j.Created), nullInt(j.Updated), j.LastError,
		micros(j.UpdatedAt), nullMicros(j.FinishedAt), j.Detail, j.ID)
	if isUniqueViolation(err, "sync_jobs_one_active", "sync_jobs.kind") {
		return store.ErrSyncRunning
	}
	if err != nil {
		return fmt.Errorf("sqlite: update sync job: %w", err)
	}
	return oneRow(res)
}

func oneRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

type scanner interface{ Scan(...any) error }

func scanSyncJob(sc scanner) (store.SyncJob, error) {
	var (
		j                       store.SyncJob
		found, created, updated sql.NullInt64
		createdAt, updatedAt    int64
		finishedAt              sql.NullInt64
	)
	err := sc.Scan(&j.Seq, &j.ID, &j.Kind, &j.CompanyID, &j.State, &j.VendorJobID, &j.NotifyEmail, &j.RequestedBy,
		&j.ClientID, &found, &created, &updated, &j.LastError, &createdAt, &updatedAt, &finishedAt, &j.Detail)
	if err != nil {
		return store.SyncJob{}, err
	}
	intPtr := func(n sql.NullInt64) *int {
		if !n.Valid {
			return nil
		}
		v := int(n.Int64)
		return &v
	}
	j.UsersFound, j.Created, j.Updated = intPtr(found), intPtr(created), intPtr(updated)
	j.CreatedAt, j.UpdatedAt = fromMicros(createdAt), fromMicros(updatedAt)
	if finishedAt.Valid {
		t := fromMicros(finishedAt.Int64)
		j.FinishedAt = &t
	}
	return j, nil
}

// SyncJob implements store.Store.
func (s *Store) SyncJob(ctx context.Context, id string) (store.SyncJob, error) {
	j, err := scanSyncJob(s.r.QueryRowContext(ctx, `SELECT `+syncJobColumns+` FROM sync_jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.SyncJob{}, store.ErrNotFound
	}
	if err != nil {
		return store.SyncJob{}, fmt.Errorf("sqlite: sync job: %w", err)
	}
	return j, nil
}

// syncJobWhere is the WHERE clause of f's filters (cursors included when
// paged).
func syncJobWhere(f store.SyncJobFilter, paged bool) (string, []any) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	anyOf := func(col string, vs []string) {
		if len(vs) == 0 {
			return
		}
		where = append(where, col+" IN (?"+strings.Repeat(", ?", len(vs)-1)+")")
		for _, v := range vs {
			args = append(args, v)
		}
	}
	if f.CompanyID != "" {
		add("company_id = ?", f.CompanyID)
	}
	anyOf("kind", f.Kinds)
	anyOf("company_id", f.CompanyIDs)
	anyOf("state", f.States)
	if paged && f.BeforeSeq > 0 && !f.Oldest {
		add("seq < ?", f.BeforeSeq)
	}
	if paged && f.AfterSeq > 0 && f.Oldest {
		add("seq > ?", f.AfterSeq)
	}
	if len(where) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

// CountSyncJobs implements store.Store.
func (s *Store) CountSyncJobs(ctx context.Context, f store.SyncJobFilter) (int, error) {
	where, args := syncJobWhere(f, false)
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sync_jobs`+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count sync jobs: %w", err)
	}
	return n, nil
}

// ListSyncJobs implements store.Store.
func (s *Store) ListSyncJobs(ctx context.Context, f store.SyncJobFilter) ([]store.SyncJob, error) {
	where, args := syncJobWhere(f, true)
	order := " ORDER BY seq DESC LIMIT ?"
	if f.Oldest {
		order = " ORDER BY seq LIMIT ?"
	}
	q := `SELECT ` + syncJobColumns + ` FROM sync_jobs` + where + order
	args = append(args, store.Limit(f.Limit))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list sync jobs: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := []store.SyncJob{}
	for rows.Next() {
		j, err := scanSyncJob(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list sync jobs: %w", err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list sync jobs: %w", err)
	}
	return out, nil
}

// BeginIdempotent implements store.Store. The claim is one statement: an
// insert that, on conflict, takes the row over only when it has lapsed, so
// exactly one caller wins.
func (s *Store) BeginIdempotent(ctx context.Context, scope, key, fingerprint string) (*store.StoredResponse, string, error) {
	owner := store.NewOwner()
	for range 3 {
		now := s.now()
		var claimed string
		err := s.w.QueryRowContext(ctx, `INSERT INTO idempotency_keys (scope, idem_key, fingerprint, done, claimed_at, owner)
			VALUES (?, ?, ?, 0, ?, ?)
			ON CONFLICT (scope, idem_key) DO UPDATE SET fingerprint = excluded.fingerprint, done = 0, owner = excluded.owner,
				status = NULL, header = NULL, body = NULL, claimed_at = excluded.claimed_at, finished_at = NULL
			WHERE (idempotency_keys.done = 0 AND idempotency_keys.claimed_at <= ?)
			   OR (idempotency_keys.done = 1 AND idempotency_keys.finished_at <= ?)
			RETURNING scope`,
			scope, key, fingerprint, micros(now), owner, micros(now.Add(-s.opts.IdempotencyLease)),
			micros(now.Add(-s.opts.IdempotencyRetention))).Scan(&claimed)
		if err == nil {
			return nil, owner, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, "", fmt.Errorf("sqlite: claim idempotency key: %w", err)
		}
		// Someone holds the key: say who.
		var (
			fp     string
			done   bool
			status sql.NullInt64
			header sql.NullString
			body   []byte
		)
		err = s.w.QueryRowContext(ctx, `SELECT fingerprint, done, status, header, body FROM idempotency_keys
			WHERE scope = ? AND idem_key = ?`, scope, key).Scan(&fp, &done, &status, &header, &body)
		if errors.Is(err, sql.ErrNoRows) {
			continue // released in between: try to claim again
		}
		if err != nil {
			return nil, "", fmt.Errorf("sqlite: read idempotency key: %w", err)
		}
		r, err := decide(fp, fingerprint, done, status, header, body)
		return r, "", err
	}
	return nil, "", store.ErrKeyInFlight
}

// decide turns a live record into the caller's answer.
func decide(stored, fingerprint string, done bool, status sql.NullInt64, header sql.NullString, body []byte) (*store.StoredResponse, error) {
	if stored != fingerprint {
		return nil, store.ErrKeyMismatch
	}
	if !done {
		return nil, store.ErrKeyInFlight
	}
	r := &store.StoredResponse{Status: int(status.Int64), Body: body, Header: http.Header{}}
	if header.Valid && header.String != "" {
		if err := json.Unmarshal([]byte(header.String), &r.Header); err != nil {
			return nil, fmt.Errorf("sqlite: stored header: %w", err)
		}
	}
	if r.Body == nil {
		r.Body = []byte{}
	}
	return r, nil
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
	res, err := s.w.ExecContext(ctx, `UPDATE idempotency_keys SET done = 1, status = ?, header = ?, body = ?, finished_at = ?
		WHERE scope = ? AND idem_key = ? AND done = 0 AND owner = ?`, r.Status, string(header), body, micros(s.now()), scope, key, owner)
	if err != nil {
		return fmt.Errorf("sqlite: finish idempotency key: %w", err)
	}
	return oneRow(res)
}

// ReleaseIdempotent implements store.Store.
func (s *Store) ReleaseIdempotent(ctx context.Context, scope, key, owner string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ? AND done = 0 AND owner = ?`, scope, key, owner)
	if err != nil {
		return fmt.Errorf("sqlite: release idempotency key: %w", err)
	}
	return nil
}

// AppendAudit implements store.Store.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEvent) error {
	var input any
	if len(e.Input) > 0 {
		input = string(e.Input)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO audit_events (id, at, request_id, subject, client_id, operation,
		target, input, outcome, status, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, micros(e.Time), e.RequestID, e.Subject, e.ClientID, e.Operation, e.Target, input, e.Outcome, e.Status, e.Detail)
	if err != nil {
		return fmt.Errorf("sqlite: append audit event: %w", err)
	}
	return nil
}

// FinishAudit implements store.Store.
func (s *Store) FinishAudit(ctx context.Context, id, outcome string, status int, detail string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE audit_events SET outcome = ?, status = ?, detail = ? WHERE id = ?`,
		outcome, status, detail, id)
	if err != nil {
		return fmt.Errorf("sqlite: finish audit event: %w", err)
	}
	return oneRow(res)
}

// auditWhere is the WHERE clause of f's filters (cursors included when
// paged).
func auditWhere(f store.AuditFilter, paged bool) (string, []any) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if !f.From.IsZero() {
		add("at >= ?", micros(f.From))
	}
	if !f.To.IsZero() {
		add("at < ?", micros(f.To))
	}
	if f.Subject != "" {
		add("subject = ?", f.Subject)
	}
	if len(f.Operations) > 0 {
		where = append(where, "operation IN (?"+strings.Repeat(", ?", len(f.Operations)-1)+")")
		for _, v := range f.Operations {
			args = append(args, v)
		}
	}
	if paged && f.AfterSeq > 0 && !f.Newest {
		add("seq > ?", f.AfterSeq)
	}
	if paged && f.BeforeSeq > 0 && f.Newest {
		add("seq < ?", f.BeforeSeq)
	}
	if len(where) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

// CountAudit implements store.Store.
func (s *Store) CountAudit(ctx context.Context, f store.AuditFilter) (int, error) {
	where, args := auditWhere(f, false)
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM audit_events`+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count audit events: %w", err)
	}
	return n, nil
}

// ListAudit implements store.Store.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	where, args := auditWhere(f, true)
	order := " ORDER BY seq LIMIT ?"
	if f.Newest {
		order = " ORDER BY seq DESC LIMIT ?"
	}
	q := `SELECT seq, id, at, request_id, subject, client_id, operation, target, input, outcome, status, detail FROM audit_events` + where + order
	args = append(args, store.Limit(f.Limit))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list audit events: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := []store.AuditEvent{}
	for rows.Next() {
		var (
			e     store.AuditEvent
			at    int64
			input sql.NullString
		)
		if err := rows.Scan(&e.Seq, &e.ID, &at, &e.RequestID, &e.Subject, &e.ClientID, &e.Operation, &e.Target,
			&input, &e.Outcome, &e.Status, &e.Detail); err != nil {
			return nil, fmt.Errorf("sqlite: list audit events: %w", err)
		}
		e.Time = fromMicros(at)
		if input.Valid {
			e.Input = json.RawMessage(input.String)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list audit events: %w", err)
	}
	return out, nil
}

// Purge implements store.Store: answers past their retention and claims
// past their lease are deleted.
func (s *Store) Purge(ctx context.Context) error {
	now := s.now()
	_, err := s.w.ExecContext(ctx, `DELETE FROM idempotency_keys
		WHERE (done = 1 AND finished_at <= ?) OR (done = 0 AND claimed_at <= ?)`,
		micros(now.Add(-s.opts.IdempotencyRetention)), micros(now.Add(-s.opts.IdempotencyLease)))
	if err != nil {
		return fmt.Errorf("sqlite: purge: %w", err)
	}
	return nil
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

// Close implements store.Store; it is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = errors.Join(s.r.Close(), s.w.Close())
	})
	return s.closeErr
}
