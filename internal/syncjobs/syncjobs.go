// Package syncjobs is one job model over two very different vendor syncs:
// Appxite GDAP's SynchronizePartnerCustomers (fire-and-forget, no job id,
// the result goes out by e-mail) and BokaMera's Axema user sync (a vendor
// job id and a state 0..3 with counters). The gateway keeps its own record
// of every job in the store, which is also where "one active sync per kind
// and company" is enforced, across replicas, before any vendor is called.
//
// Nothing here knows about HTTP: the handlers map the errors below.
package syncjobs

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/problem"
	"github.com/partnerhub/gateway/internal/store"
	"github.com/partnerhub/gateway/internal/upstream"
	"github.com/partnerhub/gateway/internal/upstream/gdap"
)

// Kinds are the sync kinds the gateway can start, in the order error
// messages list them.
var Kinds = []string{model.SyncKindGDAPCustomers, model.SyncKindAxemaUsers}

// States are every state a job can be in.
var States = []string{model.SyncPending, model.SyncRunning, model.SyncSucceeded, model.SyncFailed, model.SyncAccepted}

// GDAP is the part of the GDAP client the service needs.
type GDAP interface {
	// SynchronizePartnerCustomers starts the partner's customer sync; the
	// vendor mails the result to email. Never retried.
	SynchronizePartnerCustomers(ctx context.Context, email string) (message string, err error)
}

// BokaMera is the part of the BokaMera client the service needs.
type BokaMera interface {
	StartUserSync(ctx context.Context, companyID string) (model.AxemaSyncJob, error)
	UserSyncJob(ctx context.Context, id, companyID string) (model.AxemaSyncJob, error)
}

// Errors the handlers map onto answers.
var (
	// ErrNotFound: no job with that id (404).
	ErrNotFound = errors.New("syncjobs: no such sync job")
	// ErrStore: the job store failed; nothing was sent to a vendor (503).
	ErrStore = errors.New("syncjobs: the job store is unavailable")
)

// ValidationError lists every mistake in a start request. Field is the
// request field's JSON name (kind, company_id, notify_email).
type ValidationError struct {
	Fields []FieldError
}

// FieldError is one mistake in one field.
// Code is one of the problem.Code* constants.
type FieldError struct{ Field, Code, Message string }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + " " + f.Message
	}
	return "syncjobs: invalid request: " + strings.Join(parts, "; ")
}

// ConflictError: a sync of the same kind is already active for the company
// (pending or running in the gateway's record). No vendor was called.
type ConflictError struct {
	Active store.SyncJob // the blocking job; zero when it could not be read
}

func (e *ConflictError) Error() string {
	return "syncjobs: a sync of this kind is already active for the company"
}

// Is makes errors.Is(err, store.ErrSyncRunning) hold.
func (e *ConflictError) Is(target error) bool { return target == store.ErrSyncRunning }

// Config wires a Service.
type Config struct {
	Store    store.Store
	GDAP     GDAP
	BokaMera BokaMera
	// PartnerID is the GDAP partner tenant: GDAP syncs are per partner, so
	// it is the company of every gdap_customers job.
	PartnerID string
	// BokaMeraCompanyID is the company an axema_users job runs for when the
	// caller names none (the gateway's configured BokaMera company).
	BokaMeraCompanyID string
	// StartTimeout is how long a job may stay pending without the vendor's
	// answer being recorded before it counts as interrupted (a crash or a
	// lost store write between the vendor call and the update) and stops
	// blocking new syncs. It must be longer than any request; default 2m.
	StartTimeout time.Duration
	// MaxRefresh bounds the BokaMera jobs one listing refreshes; default 20.
	MaxRefresh int
	Log        *slog.Logger
	Now        func() time.Time // default time.Now
}

// Service starts sync jobs and reports their current state.
type Service struct {
	cfg Config
}

// New validates cfg.
func New(cfg Config) (*Service, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("a store is required"))
	}
	if cfg.GDAP == nil || cfg.BokaMera == nil {
		errs = append(errs, errors.New("GDAP and BokaMera clients are required"))
	}
	cfg.PartnerID = strings.ToLower(strings.TrimSpace(cfg.PartnerID))
	if !guidRE.MatchString(cfg.PartnerID) {
		errs = append(errs, errors.New("PartnerID must be the GDAP partner tenant GUID"))
	}
	cfg.BokaMeraCompanyID = strings.ToLower(strings.TrimSpace(cfg.BokaMeraCompanyID))
	if cfg.BokaMeraCompanyID != "" && !guidRE.MatchString(cfg.BokaMeraCompanyID) {
		errs = append(errs, errors.New("BokaMeraCompanyID must be a GUID"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("syncjobs config: %w", err)
	}
	cfg.Store = kindStore{cfg.Store}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 2 * time.Minute
	}
	if cfg.MaxRefresh <= 0 {
		cfg.MaxRefresh = 20
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}, nil
}

// StartRequest is what a caller asks for. RequestedBy and ClientID come
// from the authenticated principal.
type StartRequest struct {
	Kind        string
	CompanyID   string // axema_users: BokaMera company GUID ("" = configured); gdap_customers: "" or the partner id
	NotifyEmail string // gdap_customers only: where GDAP mails the result
	RequestedBy string
	ClientID    string
	// Audit, when set, records the start in the audit trail: after the job
	// is recorded and before the vendor is called, then with the vendor's
	// outcome.
	Audit Auditor
}

// Auditor records a write in the audit trail before the vendor is called,
// so no vendor write happens without its record.
type Auditor interface {
	// Begin records that job is about to be sent to its vendor. An error
	// stops the start: the job is marked failed and no vendor is called.
	Begin(ctx context.Context, job store.SyncJob) (AuditRecord, error)
}

// AuditRecord is a begun audit record awaiting the vendor's outcome.
type AuditRecord interface {
	// Finish records what the vendor said (err nil: it accepted the job).
	Finish(src aggregate.Source, err error)
}

// Result is a job with the vendor calls that produced the answer.
type Result struct {
	Job      store.SyncJob
	Sources  []aggregate.Source
	Complete bool
}

// Page is one page of jobs, newest first.
type Page struct {
	Items []store.SyncJob
	// More is true when jobs past the last item (older; newer with
	// Oldest) match the filter.
	More bool
	// Total is how many jobs match the filters over all pages.
	Total    int
	Sources  []aggregate.Source
	Complete bool
}

const maxEmailLen = 254

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// ValidID reports whether id can be a job id the gateway issued, so a
// malformed id is the caller's mistake rather than a lookup.
func ValidID(id string) bool { return guidRE.MatchString(id) }

// Validate reports every mistake in req as a *ValidationError, without
// recording or calling anything: a form's other mistakes can be reported
// with it. Start checks the same.
func (s *Service) Validate(req StartRequest) error {
	_, err := s.normalize(req)
	return err
}

// normalize checks req and turns it into the job to record.
func (s *Service) normalize(req StartRequest) (store.SyncJob, error) {
	var fields []FieldError
	fail := func(field, code, msg string) { fields = append(fields, FieldError{field, code, msg}) }
	company := strings.ToLower(strings.TrimSpace(req.CompanyID))
	email := strings.TrimSpace(req.NotifyEmail)
	switch req.Kind {
	case model.SyncKindGDAPCustomers:
		// GDAP syncs the whole partner; a company other than the partner
		// would be silently ignored by the vendor, so it is refused.
		if company != "" && company != s.cfg.PartnerID {
			fail("company_id", problem.CodeInvalidCombination, "must be omitted or be the gateway's GDAP partner tenant id; GDAP syncs all of the partner's customers")
		}
		company = s.cfg.PartnerID
		switch {
		case email == "":
			fail("notify_email", problem.CodeRequired, "is required for gdap_customers: GDAP mails the sync result there")
		case len(email) > maxEmailLen || !gdap.ValidEmail(email):
			fail("notify_email", problem.CodeInvalidFormat, "must be one plain e-mail address (no display name), at most 254 characters")
		}
	case model.SyncKindAxemaUsers:
		switch {
		case company == "" && s.cfg.BokaMeraCompanyID == "":
			fail("company_id", problem.CodeRequired, "is required: no default BokaMera company is configured")
		case company == "":
			company = s.cfg.BokaMeraCompanyID
		case !guidRE.MatchString(company):
			fail("company_id", problem.CodeInvalidFormat, "must be a BokaMera company id (a GUID)")
		}
		if req.NotifyEmail != "" {
			fail("notify_email", problem.CodeInvalidCombination, "is not used by axema_users: BokaMera reports progress in the job itself")
		}
	case "":
		fail("kind", problem.CodeRequired, "is required; one of "+strings.Join(Kinds, ", "))
	default:
		fail("kind", problem.CodeInvalidChoice, "must be one of "+strings.Join(Kinds, ", "))
	}
	if len(fields) > 0 {
		return store.SyncJob{}, &ValidationError{Fields: fields}
	}
	now := s.now()
	return store.SyncJob{
		ID: newID(), Kind: req.Kind, CompanyID: company, State: model.SyncPending,
		NotifyEmail: email, RequestedBy: clip(req.RequestedBy, 200), ClientID: clip(req.ClientID, 200),
		CreatedAt: now, UpdatedAt: now,
	}, nil
}

// Start records the job, then asks the vendor to start it. The record
// comes first so the store's one-active-job rule refuses a second sync
// before any vendor call; the vendor call is never retried, because
// neither vendor's start is idempotent. A vendor refusal marks the job
// failed (freeing the slot) and is returned with the job, so the caller
// can map the vendor's error and still name the recorded job.
func (s *Service) Start(ctx context.Context, req StartRequest) (Result, error) {
	j, err := s.normalize(req)
	if err != nil {
		return Result{}, err
	}
	if j, err = s.create(ctx, j); err != nil {
		return Result{}, err
	}
	var audit AuditRecord
	if req.Audit != nil {
		if audit, err = req.Audit.Begin(ctx, j); err != nil {
			now := s.now()
			j.State, j.LastError, j.UpdatedAt, j.FinishedAt = model.SyncFailed, "not sent to the vendor: "+err.Error(), now, &now
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if uerr := s.cfg.Store.UpdateSyncJob(uctx, j); uerr != nil {
				s.cfg.Log.Error("sync job could not be marked failed", "job_id", j.ID, "error", uerr)
			}
			return Result{}, err
		}
	}

	var (
		src    aggregate.Source
		vendor model.AxemaSyncJob
	)
	switch j.Kind {
	case model.SyncKindGDAPCustomers:
		_, src, err = aggregate.One(ctx, model.VendorGDAP, func(ctx context.Context) (string, error) {
			return s.cfg.GDAP.SynchronizePartnerCustomers(ctx, j.NotifyEmail)
		})
	case model.SyncKindAxemaUsers:
		vendor, src, err = aggregate.One(ctx, model.VendorBokaMera, func(ctx context.Context) (model.AxemaSyncJob, error) {
			return s.cfg.BokaMera.StartUserSync(ctx, j.CompanyID)
		})
	}
	if audit != nil {
		audit.Finish(src, err)
	}
	now := s.now()
	j.UpdatedAt = now
	switch {
	case err != nil:
		j.State, j.LastError, j.FinishedAt = model.SyncFailed, startFailure(err), &now
	case j.Kind == model.SyncKindGDAPCustomers:
		// GDAP never reports back: accepted is as far as anyone can see.
		j.State = model.SyncAccepted
	default:
		j.VendorJobID = vendor.VendorJobID
		applyAxema(&j, vendor, now)
	}
	// The vendor has acted (or refused): record it even if the caller has
	// gone, or the job would block the slot until StartTimeout.
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if uerr := s.cfg.Store.UpdateSyncJob(uctx, j); uerr != nil {
		// The answer stays the vendor's: reporting a failure now would
		// invite a retry that starts a second sync. The stale pending
		// record is given up after StartTimeout.
		s.cfg.Log.Error("sync job update failed after the vendor answered", "job_id", j.ID, "kind", j.Kind,
			"state", j.State, "error", uerr)
	}
	return Result{Job: j, Sources: []aggregate.Source{src}, Complete: err == nil}, err
}

// startFailure is the job's last_error for a refused or unanswered start:
// caller-safe vendor detail, and a warning when the vendor may have acted.
func startFailure(err error) string {
	d := upstream.Detail(err)
	var ue *upstream.Error
	if errors.As(err, &ue) && !errors.Is(ue, upstream.ErrUnavailable) && (ue.Status == 0 || errors.Is(ue, context.DeadlineExceeded)) {
		d += "; the vendor may have started the sync anyway"
	}
	return d
}

// create records j; when an active job blocks it, that job is either
// interrupted (then given up and the record retried once) or the conflict.
// No vendor is called here.
func (s *Service) create(ctx context.Context, j store.SyncJob) (store.SyncJob, error) {
	for attempt := 0; ; attempt++ {
		created, err := s.cfg.Store.CreateSyncJob(ctx, j)
		if err == nil {
			return created, nil
		}
		if !errors.Is(err, store.ErrSyncRunning) {
			return j, fmt.Errorf("%w: recording the job: %w", ErrStore, err)
		}
		active, ok, ferr := s.activeJob(ctx, j.Kind, j.CompanyID)
		if ferr != nil {
			return j, fmt.Errorf("%w: reading the active job: %w", ErrStore, ferr)
		}
		// Retry once when the blocker was interrupted (give it up first) or
		// finished in the meantime.
		if attempt > 0 || (ok && !s.interrupted(active)) {
			return j, &ConflictError{Active: active}
		}
		if ok {
			if err := s.giveUp(ctx, &active); err != nil {
				return j, err
			}
		}
	}
}

// activeJob finds the pending or running job of kind for company.
func (s *Service) activeJob(ctx context.Context, kind, company string) (store.SyncJob, bool, error) {
	jobs, err := s.activeJobs(ctx, kind, company, 1)
	if err != nil || len(jobs) == 0 {
		return store.SyncJob{}, false, err
	}
	return jobs[0], true, nil
}

// activeJobs lists up to limit pending, then running, jobs of kind for
// company ("" matches every company).
func (s *Service) activeJobs(ctx context.Context, kind, company string, limit int) ([]store.SyncJob, error) {
	var out []store.SyncJob
	for _, state := range []string{model.SyncPending, model.SyncRunning} {
		if len(out) >= limit {
			break
		}
		jobs, err := s.cfg.Store.ListSyncJobs(ctx, store.SyncJobFilter{Kinds: []string{kind}, CompanyID: company, States: []string{state}, Limit: limit - len(out)})
		if err != nil {
			return nil, err
		}
		out = append(out, jobs...)
	}
	return out, nil
}

// interrupted: pending with no vendor answer recorded for longer than any
// start can take.
func (s *Service) interrupted(j store.SyncJob) bool {
	return j.State == model.SyncPending && j.VendorJobID == "" && s.now().Sub(j.CreatedAt) > s.cfg.StartTimeout
}

// giveUp marks an interrupted start failed so it stops blocking the slot.
func (s *Service) giveUp(ctx context.Context, j *store.SyncJob) error {
	now := s.now()
	j.State, j.UpdatedAt, j.FinishedAt = model.SyncFailed, now, &now
	j.LastError = "the start was interrupted before the vendor's answer was recorded; the vendor may have started the sync"
	if err := s.cfg.Store.UpdateSyncJob(ctx, *j); err != nil {
		return fmt.Errorf("%w: giving up an interrupted job: %w", ErrStore, err)
	}
	return nil
}

// Get returns one job, refreshed from BokaMera when it is an active Axema
// job. If BokaMera fails, the recorded state comes back with the failure
// in Sources and Complete false.
func (s *Service) Get(ctx context.Context, id string) (Result, error) {
	j, err := s.cfg.Store.SyncJob(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Result{}, ErrNotFound
	case err != nil:
		return Result{}, fmt.Errorf("%w: reading the job: %w", ErrStore, err)
	}
	jobs := []store.SyncJob{j}
	sources, complete, err := s.refresh(ctx, jobs)
	if err != nil {
		return Result{}, err
	}
	return Result{Job: jobs[0], Sources: sources, Complete: complete}, nil
}

// List returns one page of jobs matching f, newest first. Active Axema jobs
// matching the kind and company are refreshed from BokaMera first, so the
// state filter applies to current states.
func (s *Service) List(ctx context.Context, f store.SyncJobFilter) (Page, error) {
	f.CompanyID = strings.ToLower(f.CompanyID)
	var active []store.SyncJob
	if len(f.Kinds) == 0 || slices.Contains(f.Kinds, model.SyncKindAxemaUsers) {
		var err error
		if active, err = s.activeJobs(ctx, model.SyncKindAxemaUsers, f.CompanyID, s.cfg.MaxRefresh); err != nil {
			return Page{}, fmt.Errorf("%w: listing active jobs: %w", ErrStore, err)
		}
	}
	sources, complete, err := s.refresh(ctx, active)
	if err != nil {
		return Page{}, err
	}
	limit := f.Limit
	f.Limit = limit + 1 // one more tells whether another page exists
	items, err := s.cfg.Store.ListSyncJobs(ctx, f)
	if err != nil {
		return Page{}, fmt.Errorf("%w: listing jobs: %w", ErrStore, err)
	}
	total, err := s.cfg.Store.CountSyncJobs(ctx, f)
	if err != nil {
		return Page{}, fmt.Errorf("%w: counting jobs: %w", ErrStore, err)
	}
	p := Page{Items: items, Total: total, Sources: sources, Complete: complete}
	if len(items) > limit {
		p.Items, p.More = items[:limit], true
	}
	if p.Items == nil {
		p.Items = []store.SyncJob{}
	}
	return p, nil
}

// refresh brings active jobs in jobs up to date in place: interrupted
// starts are given up, active Axema jobs are re-read from BokaMera
// (concurrently, under the request's vendor budget) and changes recorded.
// A BokaMera failure leaves the job as recorded and makes the answer
// incomplete; only a store failure is an error.
func (s *Service) refresh(ctx context.Context, jobs []store.SyncJob) ([]aggregate.Source, bool, error) {
	var idx []int
	for i := range jobs {
		j := &jobs[i]
		switch {
		case !store.Active(j.State):
		case s.interrupted(*j):
			if err := s.giveUp(ctx, j); err != nil {
				return nil, false, err
			}
		case j.Kind == model.SyncKindAxemaUsers && j.VendorJobID != "":
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return []aggregate.Source{}, true, nil
	}
	type got struct {
		job model.AxemaSyncJob
		src aggregate.Source
		err error
	}
	results := make([]got, len(idx))
	var wg sync.WaitGroup
	for n, i := range idx {
		wg.Go(func() {
			v, src, err := aggregate.One(ctx, model.VendorBokaMera, func(ctx context.Context) (model.AxemaSyncJob, error) {
				return s.cfg.BokaMera.UserSyncJob(ctx, jobs[i].VendorJobID, jobs[i].CompanyID)
			})
			results[n] = got{v, src, err}
		})
	}
	wg.Wait()

	src := aggregate.Source{Vendor: model.VendorBokaMera, Status: upstream.StatusOK}
	complete := true
	for n, i := range idx {
		r := results[n]
		src.DurationMS = max(src.DurationMS, r.src.DurationMS)
		j := &jobs[i]
		before := *j
		now := s.now()
		switch {
		case errors.Is(r.err, upstream.ErrNotFound):
			// BokaMera no longer knows the job; it will never finish.
			j.State, j.LastError, j.UpdatedAt, j.FinishedAt = model.SyncFailed, "BokaMera no longer knows this job", now, &now
		case r.err != nil:
			if complete {
				src.Status, src.Detail = r.src.Status, r.src.Detail
			}
			complete = false
			continue
		default:
			applyAxema(j, r.job, now)
		}
		if sameProgress(before, *j) {
			continue
		}
		if err := s.cfg.Store.UpdateSyncJob(ctx, *j); err != nil {
			return nil, false, fmt.Errorf("%w: recording refreshed state: %w", ErrStore, err)
		}
	}
	src.Stale = !complete
	return []aggregate.Source{src}, complete, nil
}

// applyAxema copies BokaMera's view of a job onto the record.
func applyAxema(j *store.SyncJob, v model.AxemaSyncJob, now time.Time) {
	if sameProgress(*j, withAxema(*j, v)) {
		return
	}
	*j = withAxema(*j, v)
	j.UpdatedAt = now
	if j.State == model.SyncSucceeded || j.State == model.SyncFailed {
		fin := now
		if !v.UpdatedAt.IsZero() && !v.UpdatedAt.After(now) {
			fin = v.UpdatedAt.UTC()
		}
		j.FinishedAt = &fin
	}
}

func withAxema(j store.SyncJob, v model.AxemaSyncJob) store.SyncJob {
	j.State = v.State
	j.UsersFound, j.Created, j.Updated = v.UsersFound, v.UsersCreated, v.UsersUpdated
	j.LastError = ""
	if v.State == model.SyncFailed {
		j.LastError = v.Error
		if j.LastError == "" {
			j.LastError = "BokaMera reported the sync failed without a message"
		}
	}
	return j
}

func sameProgress(a, b store.SyncJob) bool {
	return a.State == b.State && a.LastError == b.LastError &&
		eqInt(a.UsersFound, b.UsersFound) && eqInt(a.Created, b.Created) && eqInt(a.Updated, b.Updated)
}

func eqInt(a, b *int) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }

func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }

// newID is a random (version 4) UUID: unguessable, so a job id reveals
// nothing about other jobs.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
