// Package store keeps what must survive a restart and be shared by every
// replica: sync-job records, idempotency keys with their stored answers,
// and the audit trail of writes. It never holds vendor data: the read
// endpoints stay stateless.
//
// Two engines implement Store: an embedded single-file database (the
// default, package store/sqlite) and PostgreSQL (package store/postgres,
// selected by GATEWAY_DATABASE_URL=postgres://...). Both run the same
// versioned migrations at start-up and pass the same test suite
// (store/storetest).
package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/partnerhub/gateway/internal/model"
)

var (
	// ErrNotFound: no record with that id.
	ErrNotFound = errors.New("store: not found")
	// ErrSyncRunning: an active (pending or running) sync job of the same
	// kind exists for the company. Enforced by the database, so it holds
	// across replicas.
	ErrSyncRunning = errors.New("store: a sync of this kind is already active for this company")
	// ErrKeyInFlight: the first request with this idempotency key has not
	// finished yet (and its lease has not run out).
	ErrKeyInFlight = errors.New("store: a request with this idempotency key is still in progress")
	// ErrKeyMismatch: the key was used before for a different request.
	ErrKeyMismatch = errors.New("store: the idempotency key was used for a different request")
)

// Active reports whether a job in this state blocks another sync of the
// same kind for the same company. Kinds and states are model.SyncKind* and
// model.Sync*.
func Active(state string) bool { return state == model.SyncPending || state == model.SyncRunning }

// SyncJob is the gateway's record of one sync job.
type SyncJob struct {
	ID          string
	Kind        string
	CompanyID   string
	State       string
	VendorJobID string
	NotifyEmail string
	RequestedBy string
	ClientID    string
	UsersFound  *int
	Created     *int
	Updated     *int
	LastError   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	FinishedAt  *time.Time
	// Detail is the job kind's own structured state (JSON; an onboarding's
	// steps), stored as is and replaced by UpdateSyncJob.
	Detail string
	// Seq orders jobs (newest first) and is the paging cursor.
	Seq int64
}

// SyncJobFilter selects jobs; zero fields match everything. Jobs come
// newest first; BeforeSeq > 0 continues a listing after the job with that
// Seq. With Oldest they come oldest first and AfterSeq > 0 continues.
// Limit is capped by the caller (1..1000).
type SyncJobFilter struct {
	// CompanyID, when set, is the one company the jobs are for.
	CompanyID string
	// Kinds, CompanyIDs and States match a job with any of their values;
	// empty matches every job. CompanyIDs narrows CompanyID further (a
	// caller can filter by company and by customer at once).
	Kinds, CompanyIDs, States []string
	BeforeSeq                 int64
	Oldest                    bool
	AfterSeq                  int64
	Limit                     int
}

// Limit applies the contract's 1..1000 range to a filter's Limit: 0 or
// less means 100.
func Limit(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}

// StoredResponse is a remembered write answer.
type StoredResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// AuditEvent records one write. It is appended before the vendor is called
// (Outcome "pending") and finished afterwards, so no vendor write ever
// happens without its record.
type AuditEvent struct {
	ID        string
	Time      time.Time
	RequestID string
	Subject   string
	ClientID  string
	Operation string // e.g. "licenses.register"
	Target    string
	Input     json.RawMessage // normalized, no secrets
	Outcome   string          // pending | succeeded | failed | unknown
	Status    int
	Detail    string
	// Seq orders events (oldest first) and is the paging cursor.
	Seq int64
}

// Audit outcomes.
const (
	OutcomePending   = "pending"
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed"
	OutcomeUnknown   = "unknown" // the vendor may or may not have acted (timeout)
)

// AuditFilter selects events; zero fields match everything. From is
// inclusive, To exclusive. Events come oldest first; AfterSeq > 0
// continues a listing. With Newest they come newest first and
// BeforeSeq > 0 continues.
type AuditFilter struct {
	From, To time.Time
	Subject  string
	// Operations match an event with any of them; empty matches all.
	Operations []string
	AfterSeq   int64
	Newest     bool
	BeforeSeq  int64
	Limit      int
}

// Store is everything the gateway persists. Every method honours ctx; a
// database that is down or slow returns an error that is none of the
// sentinels above, and callers answer 503 without calling the vendor.
type Store interface {
	// CreateSyncJob inserts j (ID, Kind, CompanyID, State, RequestedBy,
	// CreatedAt set by the caller). ErrSyncRunning when Active(j.State) and
	// an active job of the same kind exists for the company.
	CreateSyncJob(ctx context.Context, j SyncJob) (SyncJob, error)
	// UpdateSyncJob replaces the mutable fields (State, VendorJobID,
	// counters, LastError, UpdatedAt, FinishedAt, Detail) of the job with j.ID.
	UpdateSyncJob(ctx context.Context, j SyncJob) error
	SyncJob(ctx context.Context, id string) (SyncJob, error)
	ListSyncJobs(ctx context.Context, f SyncJobFilter) ([]SyncJob, error)
	// CountSyncJobs is how many jobs f's filters match (its cursors,
	// order and Limit ignored).
	CountSyncJobs(ctx context.Context, f SyncJobFilter) (int, error)

	// BeginIdempotent claims (scope, key) for a request fingerprint. It
	// returns the stored answer when the same request already finished
	// (replay), ErrKeyMismatch / ErrKeyInFlight, or (nil, owner, nil) when
	// the caller now owns the key and must call FinishIdempotent or
	// ReleaseIdempotent with owner. A claim older than the lease, or an
	// answer older than the retention, counts as absent. Exactly one of
	// several concurrent callers (on any replica) gets ownership.
	BeginIdempotent(ctx context.Context, scope, key, fingerprint string) (replay *StoredResponse, owner string, err error)
	// FinishIdempotent stores the answer under owner's claim; ErrNotFound
	// when the claim is no longer owner's (released, or lapsed and taken
	// over by another request), so a late request never overwrites the
	// new owner's answer.
	FinishIdempotent(ctx context.Context, scope, key, owner string, r StoredResponse) error
	// ReleaseIdempotent drops owner's unfinished claim; another owner's
	// claim is left alone.
	ReleaseIdempotent(ctx context.Context, scope, key, owner string) error

	// AppendAudit records a new event; FinishAudit sets its outcome,
	// status and detail.
	AppendAudit(ctx context.Context, e AuditEvent) error
	FinishAudit(ctx context.Context, id, outcome string, status int, detail string) error
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
	// CountAudit is how many events f's filters match (its cursors, order
	// and Limit ignored).
	CountAudit(ctx context.Context, f AuditFilter) (int, error)

	// Purge deletes idempotency records past their retention.
	Purge(ctx context.Context) error
	Ping(ctx context.Context) error
	Close() error
}

// NewOwner makes the token that marks one claim of an idempotency key.
func NewOwner() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Options tune both engines.
type Options struct {
	// IdempotencyRetention is how long a finished answer is replayed
	// (default 24h).
	IdempotencyRetention time.Duration
	// IdempotencyLease is how long an unfinished claim blocks the key
	// before it counts as abandoned (default 1m; longer than any request).
	IdempotencyLease time.Duration
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Defaults for Options.
const (
	DefaultIdempotencyRetention = 24 * time.Hour
	DefaultIdempotencyLease     = time.Minute
)

// WithDefaults fills the zero fields of o, so engines share one reading of
// the options.
func (o Options) WithDefaults() Options {
	if o.IdempotencyRetention <= 0 {
		o.IdempotencyRetention = DefaultIdempotencyRetention
	}
	if o.IdempotencyLease <= 0 {
		o.IdempotencyLease = DefaultIdempotencyLease
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
