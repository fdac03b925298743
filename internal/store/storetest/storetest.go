// Package storetest is the conformance suite every store engine passes:
// the engines' own tests call Run, so both behave the same way for the
// gateway.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/store"
)

// Opener opens the engine under test with opts. Every call with the same
// t opens the same database: the first creates it empty, later ones reopen
// it (after the suite closed the previous Store). The engine closes what
// it opened when t ends; Close must tolerate being called twice.
type Opener func(t *testing.T, opts store.Options) store.Store

// Run runs the whole suite against the engine open opens.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"SyncJobCRUD", testSyncJobCRUD},
		{"SyncJobList", testSyncJobList},
		{"SyncRunning", testSyncRunning},
		{"SyncRunningConcurrent", testSyncRunningConcurrent},
		{"Idempotency", testIdempotency},
		{"IdempotencyLease", testIdempotencyLease},
		{"IdempotencyRetention", testIdempotencyRetention},
		{"IdempotencyConcurrent", testIdempotencyConcurrent},
		{"Audit", testAudit},
		{"Cancelled", testCancelled},
		{"Reopen", testReopen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// Clock is a settable time source for Options.Now.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts at a fixed instant with microsecond precision (what
// both engines keep).
func NewClock() *Clock { return &Clock{t: time.Date(2026, 3, 4, 10, 0, 0, 123456000, time.UTC)} }

// Now is the Options.Now function.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

var t0 = time.Date(2026, 3, 4, 9, 0, 0, 654321000, time.UTC)

func job(id, kind, company, state string, at time.Time) store.SyncJob {
	return store.SyncJob{ID: id, Kind: kind, CompanyID: company, State: state, RequestedBy: "alice", CreatedAt: at}
}

func ptr[T any](v T) *T { return &v }

func isSentinel(err error) bool {
	for _, s := range []error{store.ErrNotFound, store.ErrSyncRunning, store.ErrKeyInFlight, store.ErrKeyMismatch} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func testSyncJobCRUD(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := t.Context()

	in := job("job-1", model.SyncKindAxemaUsers, "c1", model.SyncPending, t0)
	in.NotifyEmail, in.ClientID, in.Detail = "ops@example.com", "cli", `{"steps":[]}`
	got, err := s.CreateSyncJob(ctx, in)
	if err != nil {
		t.Fatalf("CreateSyncJob: %v", err)
	}
	if got.Seq <= 0 || !got.UpdatedAt.Equal(t0) {
		t.Fatalf("created job: seq %d, updated_at %v; want a positive seq and updated_at = created_at", got.Seq, got.UpdatedAt)
	}
	read, err := s.SyncJob(ctx, "job-1")
	if err != nil {
		t.Fatalf("SyncJob: %v", err)
	}
	if !reflect.DeepEqual(read, got) {
		t.Fatalf("read back\n %+v\nwant\n %+v", read, got)
	}

	fin := t0.Add(time.Minute)
	upd := read
	upd.State, upd.VendorJobID, upd.LastError = model.SyncSucceeded, "v-9", "partial"
	upd.UsersFound, upd.Created, upd.Updated = ptr(10), ptr(3), ptr(0)
	upd.UpdatedAt, upd.FinishedAt, upd.Detail = fin, &fin, `{"steps":[{"state":"succeeded"}]}`
	// Fields outside the mutable set must not change.
	upd.CompanyID, upd.RequestedBy = "other", "mallory"
	if err := s.UpdateSyncJob(ctx, upd); err != nil {
		t.Fatalf("UpdateSyncJob: %v", err)
	}
	read, err = s.SyncJob(ctx, "job-1")
	if err != nil {
		t.Fatalf("SyncJob: %v", err)
	}
	want := got
	want.State, want.VendorJobID, want.LastError = model.SyncSucceeded, "v-9", "partial"
	want.UsersFound, want.Created, want.Updated = ptr(10), ptr(3), ptr(0)
	want.UpdatedAt, want.FinishedAt, want.Detail = fin, &fin, `{"steps":[{"state":"succeeded"}]}`
	if !reflect.DeepEqual(read, want) {
		t.Fatalf("after update\n %+v\nwant\n %+v", read, want)
	}

	if _, err := s.SyncJob(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SyncJob(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.UpdateSyncJob(ctx, job("nope", model.SyncKindAxemaUsers, "c1", model.SyncFailed, t0)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateSyncJob(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.CreateSyncJob(ctx, job("job-1", model.SyncKindGDAPCustomers, "c2", model.SyncAccepted, t0)); err == nil || isSentinel(err) {
		t.Fatalf("CreateSyncJob(duplicate id) = %v, want a plain error", err)
	}
}

func testSyncJobList(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := t.Context()
	var ids []string
	for i := range 7 {
		kind := model.SyncKindAxemaUsers
		if i%2 == 1 {
			kind = model.SyncKindGDAPCustomers
		}
		id := fmt.Sprintf("job-%d", i)
		if _, err := s.CreateSyncJob(ctx, job(id, kind, fmt.Sprintf("c%d", i%3), model.SyncSucceeded, t0.Add(time.Duration(i)*time.Second))); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	idsOf := func(js []store.SyncJob) []string {
		out := []string{}
		for _, j := range js {
			out = append(out, j.ID)
		}
		return out
	}
	list := func(f store.SyncJobFilter) []store.SyncJob {
		t.Helper()
		js, err := s.ListSyncJobs(ctx, f)
		if err != nil {
			t.Fatalf("ListSyncJobs(%+v): %v", f, err)
		}
		return js
	}
	if got := idsOf(list(store.SyncJobFilter{Limit: 100})); !reflect.DeepEqual(got, []string{"job-6", "job-5", "job-4", "job-3", "job-2", "job-1", "job-0"}) {
		t.Fatalf("all jobs, newest first = %v", got)
	}
	if got := idsOf(list(store.SyncJobFilter{Kinds: []string{model.SyncKindGDAPCustomers}, Limit: 100})); !reflect.DeepEqual(got, []string{"job-5", "job-3", "job-1"}) {
		t.Fatalf("gdap jobs = %v", got)
	}
	if got := idsOf(list(store.SyncJobFilter{CompanyID: "c0", Limit: 100})); !reflect.DeepEqual(got, []string{"job-6", "job-3", "job-0"}) {
		t.Fatalf("company c0 = %v", got)
	}
	if got := idsOf(list(store.SyncJobFilter{States: []string{model.SyncRunning}, Limit: 100})); len(got) != 0 {
		t.Fatalf("running jobs = %v, want none", got)
	}
	// Paging: pages of 3 by Seq cover everything once.
	var paged []string
	var before int64
	for range 10 {
		page := list(store.SyncJobFilter{BeforeSeq: before, Limit: 3})
		if len(page) == 0 {
			break
		}
		paged = append(paged, idsOf(page)...)
		before = page[len(page)-1].Seq
	}
	want := append([]string(nil), ids...)
	for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
		want[i], want[j] = want[j], want[i]
	}
	if !reflect.DeepEqual(paged, want) {
		t.Fatalf("paged = %v, want %v", paged, want)
	}

	// Any-of filters, oldest first with its cursor, and counts that
	// ignore cursors and limits.
	for _, tc := range []struct {
		f    store.SyncJobFilter
		want []string
	}{
		{store.SyncJobFilter{CompanyIDs: []string{"c0", "c2"}, Limit: 100}, []string{"job-6", "job-5", "job-3", "job-2", "job-0"}},
		{store.SyncJobFilter{Kinds: []string{model.SyncKindGDAPCustomers, "other"}, CompanyIDs: []string{"c1"}, Limit: 100}, []string{"job-1"}},
		{store.SyncJobFilter{States: []string{model.SyncRunning, model.SyncSucceeded}, Oldest: true, Limit: 2}, []string{"job-0", "job-1"}},
		{store.SyncJobFilter{Oldest: true, AfterSeq: list(store.SyncJobFilter{Limit: 100})[2].Seq, Limit: 100}, []string{"job-5", "job-6"}},
	} {
		if got := idsOf(list(tc.f)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ListSyncJobs(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}
	for _, tc := range []struct {
		f    store.SyncJobFilter
		want int
	}{
		{store.SyncJobFilter{Limit: 1}, 7},
		{store.SyncJobFilter{CompanyIDs: []string{"c0", "c2"}, BeforeSeq: 1, Limit: 1}, 5},
		{store.SyncJobFilter{Kinds: []string{model.SyncKindGDAPCustomers}, States: []string{model.SyncRunning}}, 0},
	} {
		if n, err := s.CountSyncJobs(ctx, tc.f); err != nil || n != tc.want {
			t.Errorf("CountSyncJobs(%+v) = %d, %v; want %d", tc.f, n, err, tc.want)
		}
	}
}

func testSyncRunning(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := t.Context()
	first, err := s.CreateSyncJob(ctx, job("a", model.SyncKindAxemaUsers, "c1", model.SyncPending, t0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSyncJob(ctx, job("b", model.SyncKindAxemaUsers, "c1", model.SyncRunning, t0)); !errors.Is(err, store.ErrSyncRunning) {
		t.Fatalf("second active job = %v, want ErrSyncRunning", err)
	}
	// Other companies, other kinds and finished jobs are not blocked.
	for _, j := range []store.SyncJob{
		job("c", model.SyncKindAxemaUsers, "c2", model.SyncPending, t0),
		job("d", model.SyncKindGDAPCustomers, "c1", model.SyncPending, t0),
		job("e", model.SyncKindAxemaUsers, "c1", model.SyncFailed, t0),
	} {
		if _, err := s.CreateSyncJob(ctx, j); err != nil {
			t.Fatalf("CreateSyncJob(%s %s %s): %v", j.Kind, j.CompanyID, j.State, err)
		}
	}
	// A finished job can't be made active again while another is.
	failed, _ := s.SyncJob(ctx, "e")
	failed.State = model.SyncRunning
	if err := s.UpdateSyncJob(ctx, failed); !errors.Is(err, store.ErrSyncRunning) {
		t.Fatalf("reactivating a job beside an active one = %v, want ErrSyncRunning", err)
	}
	// Moving through running keeps the slot; finishing frees it.
	first.State = model.SyncRunning
	if err := s.UpdateSyncJob(ctx, first); err != nil {
		t.Fatalf("pending -> running: %v", err)
	}
	if _, err := s.CreateSyncJob(ctx, job("f", model.SyncKindAxemaUsers, "c1", model.SyncPending, t0)); !errors.Is(err, store.ErrSyncRunning) {
		t.Fatalf("while running = %v, want ErrSyncRunning", err)
	}
	first.State = model.SyncSucceeded
	if err := s.UpdateSyncJob(ctx, first); err != nil {
		t.Fatalf("running -> succeeded: %v", err)
	}
	if _, err := s.CreateSyncJob(ctx, job("g", model.SyncKindAxemaUsers, "c1", model.SyncPending, t0)); err != nil {
		t.Fatalf("after the first finished: %v", err)
	}
	if _, err := s.SyncJob(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused job was stored: %v", err)
	}
}

func testSyncRunningConcurrent(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.CreateSyncJob(t.Context(), job(fmt.Sprintf("j%d", i), model.SyncKindGDAPCustomers, "c1", model.SyncPending, t0))
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrSyncRunning):
			t.Errorf("caller %d: %v, want nil or ErrSyncRunning", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent creates succeeded, want exactly 1", won)
	}
	js, err := s.ListSyncJobs(t.Context(), store.SyncJobFilter{CompanyID: "c1", Limit: 100})
	if err != nil || len(js) != 1 {
		t.Fatalf("stored jobs = %d, %v; want 1", len(js), err)
	}
}

var answer = store.StoredResponse{
	Status: 201,
	Header: http.Header{"Content-Type": {"application/json"}, "Location": {"/v1/x/1"}},
	Body:   []byte(`{"id":"1"}`),
}

func begin(t *testing.T, s store.Store, scope, key, fp string) (*store.StoredResponse, error) {
	t.Helper()
	r, _, err := s.BeginIdempotent(t.Context(), scope, key, fp)
	return r, err
}

// mustOwn claims the key and returns the claim's owner token.
func mustOwn(t *testing.T, s store.Store, scope, key, fp string) string {
	t.Helper()
	r, owner, err := s.BeginIdempotent(t.Context(), scope, key, fp)
	if r != nil || err != nil || owner == "" {
		t.Fatalf("BeginIdempotent(%s, %s, %s) = %v, %q, %v; want ownership (nil, owner, nil)", scope, key, fp, r, owner, err)
	}
	return owner
}

func mustReplay(t *testing.T, s store.Store, scope, key, fp string) {
	t.Helper()
	r, err := begin(t, s, scope, key, fp)
	if err != nil || r == nil {
		t.Fatalf("BeginIdempotent(%s, %s) = %v, %v; want the stored answer", scope, key, r, err)
	}
	if !reflect.DeepEqual(*r, answer) {
		t.Fatalf("replayed %+v, want %+v", *r, answer)
	}
}

func mustFail(t *testing.T, s store.Store, scope, key, fp string, want error) {
	t.Helper()
	if r, err := begin(t, s, scope, key, fp); r != nil || !errors.Is(err, want) {
		t.Fatalf("BeginIdempotent(%s, %s, %s) = %v, %v; want %v", scope, key, fp, r, err, want)
	}
}

func testIdempotency(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := t.Context()
	a1 := mustOwn(t, s, "alice", "k1", "fp1")
	mustFail(t, s, "alice", "k1", "fp1", store.ErrKeyInFlight)
	mustFail(t, s, "alice", "k1", "fp2", store.ErrKeyMismatch)
	// Keys are per scope.
	b1 := mustOwn(t, s, "bob", "k1", "fp1")
	if a1 == b1 {
		t.Fatalf("two claims share the owner token %q", a1)
	}
	// Only the owner may finish.
	if err := s.FinishIdempotent(ctx, "alice", "k1", b1, answer); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("finishing with another claim's owner = %v, want ErrNotFound", err)
	}
	if err := s.FinishIdempotent(ctx, "alice", "k1", a1, answer); err != nil {
		t.Fatalf("FinishIdempotent: %v", err)
	}
	mustReplay(t, s, "alice", "k1", "fp1")
	mustReplay(t, s, "alice", "k1", "fp1")
	mustFail(t, s, "alice", "k1", "fp2", store.ErrKeyMismatch)
	if err := s.FinishIdempotent(ctx, "alice", "k1", a1, store.StoredResponse{Status: 500}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("finishing twice = %v, want ErrNotFound", err)
	}
	mustReplay(t, s, "alice", "k1", "fp1")

	// Release gives the key back; releasing a finished key keeps the answer.
	if err := s.ReleaseIdempotent(ctx, "bob", "k1", b1); err != nil {
		t.Fatalf("ReleaseIdempotent: %v", err)
	}
	mustOwn(t, s, "bob", "k1", "fp-other")
	if err := s.ReleaseIdempotent(ctx, "alice", "k1", a1); err != nil {
		t.Fatalf("ReleaseIdempotent(finished): %v", err)
	}
	mustReplay(t, s, "alice", "k1", "fp1")
	if err := s.FinishIdempotent(ctx, "carol", "never-claimed", a1, answer); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("finishing an unclaimed key = %v, want ErrNotFound", err)
	}

	// An empty answer round-trips as empty, not nil.
	a2 := mustOwn(t, s, "alice", "k2", "fp")
	if err := s.FinishIdempotent(ctx, "alice", "k2", a2, store.StoredResponse{Status: 204}); err != nil {
		t.Fatal(err)
	}
	r, err := begin(t, s, "alice", "k2", "fp")
	if err != nil || r == nil || r.Status != 204 || len(r.Body) != 0 || len(r.Header) != 0 {
		t.Fatalf("empty answer replayed as %+v, %v", r, err)
	}
}

func testIdempotencyLease(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, store.Options{IdempotencyLease: time.Minute, IdempotencyRetention: time.Hour, Now: clock.Now})
	first := mustOwn(t, s, "alice", "k", "fp1")
	clock.Advance(59 * time.Second)
	mustFail(t, s, "alice", "k", "fp1", store.ErrKeyInFlight)
	if err := s.Purge(t.Context()); err != nil {
		t.Fatal(err)
	}
	mustFail(t, s, "alice", "k", "fp1", store.ErrKeyInFlight)
	// The owner stalled: after the lease the key is free again, even for
	// another request.
	clock.Advance(2 * time.Second)
	second := mustOwn(t, s, "alice", "k", "fp2")
	mustFail(t, s, "alice", "k", "fp2", store.ErrKeyInFlight)
	// The first request wakes up: it can neither write its answer under
	// the new claim nor free it.
	if err := s.FinishIdempotent(t.Context(), "alice", "k", first, answer); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the lapsed owner finished the new claim: %v, want ErrNotFound", err)
	}
	if err := s.ReleaseIdempotent(t.Context(), "alice", "k", first); err != nil {
		t.Fatal(err)
	}
	mustFail(t, s, "alice", "k", "fp2", store.ErrKeyInFlight)
	if err := s.FinishIdempotent(t.Context(), "alice", "k", second, answer); err != nil {
		t.Fatalf("the new owner's finish: %v", err)
	}
	mustReplay(t, s, "alice", "k", "fp2")
	mustFail(t, s, "alice", "k", "fp1", store.ErrKeyMismatch)
	clock.Advance(2 * time.Hour) // past the retention: free again
	mustOwn(t, s, "alice", "k", "fp2")
	mustFail(t, s, "alice", "k", "fp2", store.ErrKeyInFlight)
	clock.Advance(2 * time.Minute)
	if err := s.Purge(t.Context()); err != nil {
		t.Fatal(err)
	}
	mustOwn(t, s, "alice", "k", "fp3")
}

func testIdempotencyRetention(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, store.Options{IdempotencyLease: time.Minute, IdempotencyRetention: time.Hour, Now: clock.Now})
	owners := map[string]string{
		"k":        mustOwn(t, s, "alice", "k", "fp1"),
		"k-purged": mustOwn(t, s, "alice", "k-purged", "fp1"),
	}
	clock.Advance(30 * time.Second)
	for _, k := range []string{"k", "k-purged"} {
		if err := s.FinishIdempotent(t.Context(), "alice", k, owners[k], answer); err != nil {
			t.Fatal(err)
		}
	}
	// Retention counts from the answer, not the claim; Purge keeps live answers.
	clock.Advance(59 * time.Minute)
	if err := s.Purge(t.Context()); err != nil {
		t.Fatal(err)
	}
	mustReplay(t, s, "alice", "k", "fp1")
	mustFail(t, s, "alice", "k", "fp2", store.ErrKeyMismatch)
	clock.Advance(time.Minute)
	if err := s.Purge(t.Context()); err != nil {
		t.Fatal(err)
	}
	mustOwn(t, s, "alice", "k-purged", "fp2")
	mustOwn(t, s, "alice", "k", "fp2") // expired without a purge
}

func testIdempotencyConcurrent(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	const n = 8
	type result struct {
		r   *store.StoredResponse
		err error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, _, err := s.BeginIdempotent(t.Context(), "alice", "same", "fp")
			results[i] = result{r, err}
		})
	}
	wg.Wait()
	owners := 0
	for i, res := range results {
		switch {
		case res.r == nil && res.err == nil:
			owners++
		case !errors.Is(res.err, store.ErrKeyInFlight):
			t.Errorf("caller %d: %v, %v; want ownership or ErrKeyInFlight", i, res.r, res.err)
		}
	}
	if owners != 1 {
		t.Fatalf("%d concurrent callers own the key, want exactly 1", owners)
	}
}

func event(id string, at time.Time, subject, op string) store.AuditEvent {
	return store.AuditEvent{ID: id, Time: at, RequestID: "req-" + id, Subject: subject, ClientID: "cli",
		Operation: op, Target: "t-" + id, Input: json.RawMessage(`{"quantity":2}`), Outcome: store.OutcomePending}
}

func testAudit(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx := t.Context()
	evs := []store.AuditEvent{
		event("e1", t0, "alice", "licenses.register"),
		event("e2", t0.Add(time.Minute), "bob", "licenses.register"),
		event("e3", t0.Add(2*time.Minute), "alice", "agreements.accept"),
		event("e4", t0.Add(3*time.Minute), "alice", "licenses.register"),
		event("e5", t0.Add(4*time.Minute), "bob", "agreements.accept"),
	}
	evs[4].Input = nil
	for _, e := range evs {
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatalf("AppendAudit(%s): %v", e.ID, err)
		}
	}
	if err := s.AppendAudit(ctx, evs[0]); err == nil || isSentinel(err) {
		t.Fatalf("appending a duplicate id = %v, want a plain error", err)
	}
	if err := s.FinishAudit(ctx, "e2", store.OutcomeFailed, 409, "conflict"); err != nil {
		t.Fatalf("FinishAudit: %v", err)
	}
	if err := s.FinishAudit(ctx, "nope", store.OutcomeFailed, 409, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("FinishAudit(unknown) = %v, want ErrNotFound", err)
	}
	list := func(f store.AuditFilter) []store.AuditEvent {
		t.Helper()
		got, err := s.ListAudit(ctx, f)
		if err != nil {
			t.Fatalf("ListAudit(%+v): %v", f, err)
		}
		return got
	}
	ids := func(es []store.AuditEvent) []string {
		out := []string{}
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}

	all := list(store.AuditFilter{Limit: 100})
	if got := ids(all); !reflect.DeepEqual(got, []string{"e1", "e2", "e3", "e4", "e5"}) {
		t.Fatalf("all events = %v, want oldest first", got)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Fatalf("seq not increasing: %d then %d", all[i-1].Seq, all[i].Seq)
		}
	}
	want := evs[1]
	want.Outcome, want.Status, want.Detail, want.Seq = store.OutcomeFailed, 409, "conflict", all[1].Seq
	if !reflect.DeepEqual(all[1], want) {
		t.Fatalf("finished event\n %+v\nwant\n %+v", all[1], want)
	}
	want = evs[0]
	want.Seq = all[0].Seq
	if !reflect.DeepEqual(all[0], want) {
		t.Fatalf("pending event\n %+v\nwant\n %+v", all[0], want)
	}
	if all[4].Input != nil {
		t.Fatalf("event without input came back with %q", all[4].Input)
	}

	for _, tc := range []struct {
		f    store.AuditFilter
		want []string
	}{
		{store.AuditFilter{From: t0.Add(time.Minute), To: t0.Add(3 * time.Minute)}, []string{"e2", "e3"}},
		{store.AuditFilter{From: t0.Add(3 * time.Minute)}, []string{"e4", "e5"}},
		{store.AuditFilter{To: t0.Add(time.Minute)}, []string{"e1"}},
		{store.AuditFilter{Subject: "alice"}, []string{"e1", "e3", "e4"}},
		{store.AuditFilter{Operations: []string{"agreements.accept"}}, []string{"e3", "e5"}},
		{store.AuditFilter{Subject: "bob", Operations: []string{"licenses.register"}}, []string{"e2"}},
		{store.AuditFilter{Subject: "nobody"}, []string{}},
		{store.AuditFilter{AfterSeq: all[2].Seq}, []string{"e4", "e5"}},
		{store.AuditFilter{Limit: 2}, []string{"e1", "e2"}},
		{store.AuditFilter{Operations: []string{"agreements.accept", "x"}}, []string{"e3", "e5"}},
		{store.AuditFilter{Newest: true, Limit: 2}, []string{"e5", "e4"}},
		{store.AuditFilter{Newest: true, BeforeSeq: all[2].Seq, Subject: "alice"}, []string{"e1"}},
	} {
		if got := ids(list(tc.f)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ListAudit(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}
	for _, tc := range []struct {
		f    store.AuditFilter
		want int
	}{
		{store.AuditFilter{Limit: 1}, 5},
		{store.AuditFilter{Subject: "alice", AfterSeq: all[3].Seq}, 3},
		{store.AuditFilter{Operations: []string{"agreements.accept", "licenses.register"}, From: t0.Add(time.Minute)}, 4},
	} {
		if n, err := s.CountAudit(ctx, tc.f); err != nil || n != tc.want {
			t.Errorf("CountAudit(%+v) = %d, %v; want %d", tc.f, n, err, tc.want)
		}
	}

	// Paging by seq, two at a time, with a filter.
	var paged []string
	var after int64
	for range 10 {
		page := list(store.AuditFilter{Subject: "alice", AfterSeq: after, Limit: 2})
		if len(page) == 0 {
			break
		}
		paged = append(paged, ids(page)...)
		after = page[len(page)-1].Seq
	}
	if !reflect.DeepEqual(paged, []string{"e1", "e3", "e4"}) {
		t.Fatalf("paged = %v", paged)
	}
}

func testCancelled(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := map[string]func() error{
		"CreateSyncJob": func() error {
			_, err := s.CreateSyncJob(ctx, job("x", model.SyncKindAxemaUsers, "c1", model.SyncPending, t0))
			return err
		},
		"UpdateSyncJob": func() error {
			return s.UpdateSyncJob(ctx, job("x", model.SyncKindAxemaUsers, "c1", model.SyncFailed, t0))
		},
		"SyncJob":      func() error { _, err := s.SyncJob(ctx, "x"); return err },
		"ListSyncJobs": func() error { _, err := s.ListSyncJobs(ctx, store.SyncJobFilter{}); return err },
		"BeginIdempotent": func() error {
			_, _, err := s.BeginIdempotent(ctx, "a", "k", "fp")
			return err
		},
		"FinishIdempotent":  func() error { return s.FinishIdempotent(ctx, "a", "k", "owner", answer) },
		"ReleaseIdempotent": func() error { return s.ReleaseIdempotent(ctx, "a", "k", "owner") },
		"AppendAudit":       func() error { return s.AppendAudit(ctx, event("x", t0, "a", "op")) },
		"FinishAudit":       func() error { return s.FinishAudit(ctx, "x", store.OutcomeFailed, 500, "") },
		"ListAudit":         func() error { _, err := s.ListAudit(ctx, store.AuditFilter{}); return err },
		"Purge":             func() error { return s.Purge(ctx) },
		"Ping":              func() error { return s.Ping(ctx) },
	}
	for name, call := range calls {
		if err := call(); err == nil || isSentinel(err) {
			t.Errorf("%s with a cancelled context = %v, want an error that is no sentinel", name, err)
		}
	}
	// Nothing was written, and the store still works.
	if _, err := s.SyncJob(t.Context(), "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SyncJob after cancelled create = %v, want ErrNotFound", err)
	}
	mustOwn(t, s, "a", "k", "fp")
}

func testReopen(t *testing.T, open Opener) {
	clock := NewClock()
	opts := store.Options{IdempotencyLease: time.Minute, IdempotencyRetention: time.Hour, Now: clock.Now}
	s := open(t, opts)
	ctx := t.Context()
	j, err := s.CreateSyncJob(ctx, job("j1", model.SyncKindAxemaUsers, "c1", model.SyncRunning, t0))
	if err != nil {
		t.Fatal(err)
	}
	done := mustOwn(t, s, "alice", "done", "fp")
	if err := s.FinishIdempotent(ctx, "alice", "done", done, answer); err != nil {
		t.Fatal(err)
	}
	mustOwn(t, s, "alice", "open", "fp")
	if err := s.AppendAudit(ctx, event("e1", t0, "alice", "op")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t, opts)
	got, err := s.SyncJob(ctx, "j1")
	if err != nil || !reflect.DeepEqual(got, j) {
		t.Fatalf("after reopen: %+v, %v; want %+v", got, err, j)
	}
	if _, err := s.CreateSyncJob(ctx, job("j2", model.SyncKindAxemaUsers, "c1", model.SyncPending, t0)); !errors.Is(err, store.ErrSyncRunning) {
		t.Fatalf("the active job no longer blocks after reopen: %v", err)
	}
	mustReplay(t, s, "alice", "done", "fp")
	mustFail(t, s, "alice", "open", "fp", store.ErrKeyInFlight)
	if err := s.AppendAudit(ctx, event("e2", t0, "alice", "op")); err != nil {
		t.Fatal(err)
	}
	evs, err := s.ListAudit(ctx, store.AuditFilter{})
	if err != nil || len(evs) != 2 || evs[0].ID != "e1" || evs[1].Seq <= evs[0].Seq {
		t.Fatalf("audit after reopen: %+v, %v", evs, err)
	}
}
