package syncjobs_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/store"
	"github.com/partnerhub/gateway/internal/syncjobs"
	"github.com/partnerhub/gateway/internal/testclock"
	"github.com/partnerhub/gateway/internal/upstream"
	"github.com/partnerhub/gateway/internal/upstream/bokamera"
	"github.com/partnerhub/gateway/internal/upstream/bokamera/bokamerasim"
	"github.com/partnerhub/gateway/internal/upstream/gdap"
	"github.com/partnerhub/gateway/internal/upstream/gdap/gdapsim"
	"github.com/partnerhub/gateway/internal/upstream/simfault"
	"github.com/partnerhub/gateway/internal/upstream/simseed"
	"github.com/partnerhub/gateway/internal/upstream/simtest"
)

const (
	syncPath  = "/codelock/axema/usersync"
	gdapSync  = "/api/SynchronizePartnerCustomers"
	notifyTo  = "ops@partner.example"
	stepSize  = time.Minute
	requester = "user-1"
)

type env struct {
	svc   *syncjobs.Service
	store store.Store
	gdap  *gdapsim.Server
	boka  *bokamerasim.Server
	clock *testclock.Clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{clock: testclock.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)), store: newStore(t)}
	var gdapURL, bokaURL string
	e.gdap, gdapURL = simtest.GDAP(t, gdapsim.Options{})
	e.boka, bokaURL = simtest.BokaMera(t, bokamerasim.Options{SyncStepDuration: stepSize, Now: e.clock.Now})
	metrics, err := upstream.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	stack := func(vendor string) *upstream.Client {
		up, err := upstream.New(upstream.Config{Vendor: vendor, Timeout: 2 * time.Second}, metrics, nil)
		if err != nil {
			t.Fatal(err)
		}
		return up
	}
	gc, err := gdap.New(stack(model.VendorGDAP), gdap.Config{BaseURL: gdapURL, PartnerID: simseed.PartnerTenantID, Token: gdapsim.DefaultToken})
	if err != nil {
		t.Fatal(err)
	}
	bc, err := bokamera.New(stack(model.VendorBokaMera), bokamera.Config{
		BaseURL: bokaURL, APIKey: bokamerasim.DefaultAPIKey, TokenURL: bokamerasim.TokenURL(bokaURL),
		Username: bokamerasim.DefaultUsername, Password: bokamerasim.DefaultPassword, CompanyID: simseed.BokaMeraCompanyID,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.svc, err = syncjobs.New(syncjobs.Config{
		Store: e.store, GDAP: gc, BokaMera: bc, PartnerID: simseed.PartnerTenantID,
		BokaMeraCompanyID: simseed.BokaMeraCompanyID, Now: e.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) bokaStarts() int { return e.boka.Faults.Calls("POST", syncPath) }

func (e *env) startAxema(t *testing.T) syncjobs.Result {
	t.Helper()
	res, err := e.svc.Start(t.Context(), syncjobs.StartRequest{Kind: model.SyncKindAxemaUsers, RequestedBy: requester})
	if err != nil {
		t.Fatalf("start axema_users: %v", err)
	}
	return res
}

func (e *env) get(t *testing.T, id string) syncjobs.Result {
	t.Helper()
	res, err := e.svc.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return res
}

func TestAxemaJobFollowsBokaMera(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := e.startAxema(t)
	j := res.Job
	if j.State != model.SyncPending || j.VendorJobID == "" || j.CompanyID != strings.ToLower(simseed.BokaMeraCompanyID) ||
		j.RequestedBy != requester || !res.Complete || len(res.Sources) != 1 || res.Sources[0].Vendor != model.VendorBokaMera {
		t.Fatalf("started job: %+v", res)
	}
	if j.UsersFound != nil || j.FinishedAt != nil {
		t.Fatalf("a pending job has counters or an end: %+v", j)
	}

	e.clock.Advance(stepSize) // BokaMera: Processing
	got := e.get(t, j.ID)
	if got.Job.State != model.SyncRunning || !got.Complete || got.Sources[0].Status != upstream.StatusOK {
		t.Fatalf("after one step: %+v", got)
	}

	e.clock.Advance(stepSize) // BokaMera: Completed with counters
	got = e.get(t, j.ID)
	found := len(simseed.BookingCustomers)
	if got.Job.State != model.SyncSucceeded || got.Job.UsersFound == nil || *got.Job.UsersFound != found ||
		got.Job.Created == nil || *got.Job.Created != 0 || got.Job.Updated == nil || *got.Job.Updated != found ||
		got.Job.FinishedAt == nil || got.Job.LastError != "" {
		t.Fatalf("after two steps: %+v", got.Job)
	}
	// The refreshed state is recorded, not just reported.
	stored, err := e.store.SyncJob(t.Context(), j.ID)
	if err != nil || stored.State != model.SyncSucceeded || stored.UsersFound == nil {
		t.Fatalf("stored after refresh: %+v, %v", stored, err)
	}
	// A finished job is not asked about again.
	before := e.boka.Faults.TotalCalls()
	if got := e.get(t, j.ID); got.Job.State != model.SyncSucceeded || len(got.Sources) != 0 {
		t.Fatalf("finished job: %+v", got)
	}
	if after := e.boka.Faults.TotalCalls(); after != before {
		t.Fatalf("a finished job was refreshed from BokaMera (%d calls)", after-before)
	}
}

func TestAxemaFailedJobCarriesTheVendorMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.boka.FailNextSync("Axema Vaka credentials are invalid")
	j := e.startAxema(t).Job
	e.clock.Advance(2 * stepSize)
	got := e.get(t, j.ID).Job
	if got.State != model.SyncFailed || got.LastError != "Axema Vaka credentials are invalid" || got.FinishedAt == nil || got.UsersFound != nil {
		t.Fatalf("failed job: %+v", got)
	}
	// A failed job frees the slot: the next start reaches BokaMera.
	if next := e.startAxema(t); next.Job.ID == j.ID || next.Job.State != model.SyncPending {
		t.Fatalf("restart after failure: %+v", next.Job)
	}
}

func TestSecondSyncWhileOneRunsIsRefusedWithoutCallingTheVendor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := e.startAxema(t).Job
	e.clock.Advance(stepSize) // running at BokaMera, still pending in the record
	_, err := e.svc.Start(t.Context(), syncjobs.StartRequest{Kind: model.SyncKindAxemaUsers, CompanyID: strings.ToUpper(simseed.BokaMeraCompanyID)})
	var ce *syncjobs.ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, store.ErrSyncRunning) || ce.Active.ID != first.ID {
		t.Fatalf("second start: %v", err)
	}
	if n := e.bokaStarts(); n != 1 {
		t.Fatalf("BokaMera got %d start calls, want 1", n)
	}
	// Another kind for another company is independent.
	if _, err := e.svc.Start(t.Context(), syncjobs.StartRequest{Kind: model.SyncKindGDAPCustomers, NotifyEmail: notifyTo}); err != nil {
		t.Fatalf("gdap sync while an axema sync runs: %v", err)
	}
	// Once BokaMera reports it done, the slot is free again.
	e.clock.Advance(stepSize)
	if got := e.get(t, first.ID).Job; got.State != model.SyncSucceeded {
		t.Fatalf("first job: %+v", got)
	}
	e.startAxema(t)
	if n := e.bokaStarts(); n != 2 {
		t.Fatalf("BokaMera got %d start calls, want 2", n)
	}
}

func TestConcurrentStartsReachTheVendorOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 8
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := e.svc.Start(context.Background(), syncjobs.StartRequest{Kind: model.SyncKindAxemaUsers})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrSyncRunning):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 || e.bokaStarts() != 1 {
		t.Fatalf("%d starts succeeded, BokaMera called %d times; want 1 and 1", ok, e.bokaStarts())
	}
}

func TestVendorRefusalMarksTheJobFailedAndFreesTheSlot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.boka.Faults.Set(simfault.Fault{Status: 500, PathContains: "usersync"})
	res, err := e.svc.Start(t.Context(), syncjobs.StartRequest{Kind: model.SyncKindAxemaUsers})
	var ue *upstream.Error
	if !errors.As(err, &ue) || ue.Status != 500 {
		t.Fatalf("start against a failing BokaMera: %v", err)
	}
	if res.Job.ID == "" || res.Job.State != model.SyncFailed || !strings.Contains(res.Job.LastError, "500") ||
		res.Complete || res.Sources[0].Status != upstream.StatusError {
		t.Fatalf("result: %+v", res)
	}
	stored, err := e.store.SyncJob(t.Context(), res.Job.ID)
	if err != nil || stored.State != model.SyncFailed || stored.LastError == "" {
		t.Fatalf("stored: %+v %v", stored, err)
	}
	if n := e.bokaStarts(); n != 1 {
		t.Fatalf("a refused start was sent %d times; writes are never retried", n)
	}
	e.boka.Faults.Clear()
	if got := e.startAxema(t).Job; got.State != model.SyncPending {
		t.Fatalf("start after the refusal: %+v", got)
	}
}

func TestBokaMeraSaysASyncRunsIsAConflict(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// A sync started outside the gateway: BokaMera refuses the next one.
	e.startAxema(t)
	if err := e.failPending(t); err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.Start(t.Context(), syncjobs.StartRequest{Kind: model.SyncKindAxemaUsers})
	if !errors.Is(err, upstream.ErrConflict) || res.Job.State != model.SyncFailed {
		t.Fatalf("start while BokaMera runs one: %v, %+v", err, res.Job)
	}
}

// failPending makes the gateway forget its active job, as if another
// system had started the vendor's sync.
func (e *env) failPending(t *testing.T) error {
	jobs, err := e.store.ListSyncJobs(t.Context(), store.SyncJobFilter{States: []string{model.SyncPending}, Limit: 10})
	if err != nil {
		return err
	}
	for _, j := range jobs {
		j.State = model.SyncFailed
		if err := e.store.UpdateSyncJob(t.Context(), j); err != nil {
			return err
		}
	}
	return nil
}

func TestGDAPJobIsAcceptedWithItsNotifyAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, err := e.svc.Start(t.Context(), syncjobs.StartRequest{Kind: model.SyncKindGDAPCustomers, NotifyEmail: " " + notifyTo + " ", RequestedBy: requester})
	if err != nil {
		t.Fatal(err)
	}
	j := res.Job
	if j.State != model.SyncAccepted || j.NotifyEmail != notifyTo || j.CompanyID != strings.ToLower(simseed.PartnerTenantID) ||
		j.VendorJobID != "" || res.Sources[0].Vendor != model.VendorGDAP {
		t.Fatalf("gdap job: %+v", res)
	}
	syncs := e.gdap.SyncRequests()
	if len(syncs) != 1 || syncs[0].Email != notifyTo {
		t.Fatalf("GDAP received %+v", syncs)
	}
	// GDAP never reports back, so reading the job calls no vendor.
	if got := e.get(t, j.ID); got.Job.State != model.SyncAccepted || len(got.Sources) != 0 || !got.Complete {
		t.Fatalf("get: %+v", got)
	}
	// accepted does not block the next sync; each goes to the vendor.
	if _, err := e.svc.Start(t.Context(), syncjobs.StartRequest{Kind: model.SyncKindGDAPCustomers, NotifyEmail: notifyTo}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.gdap.SyncRequests()); n != 2 {
		t.Fatalf("GDAP got %d syncs, want 2", n)
	}
}

func TestGDAPRefusalIsRecorded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.gdap.Faults.Set(simfault.Fault{Status: 401})
	res, err := e.svc.Start(t.Context(), syncjobs.StartRequest{Kind: model.SyncKindGDAPCustomers, NotifyEmail: notifyTo})
	if !errors.Is(err, upstream.ErrCredentials) || res.Job.State != model.SyncFailed || res.Job.LastError == "" {
		t.Fatalf("start with rejected credentials: %v %+v", err, res.Job)
	}
	if n := e.gdap.Faults.Calls("POST", gdapSync); n != 1 {
		t.Fatalf("GDAP called %d times", n)
	}
}

func TestStartRejectsBadRequestsBeforeAnyCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name   string
		req    syncjobs.StartRequest
		fields []string
	}{
		{"no kind", syncjobs.StartRequest{}, []string{"kind"}},
		{"unknown kind", syncjobs.StartRequest{Kind: "crayon-tenants"}, []string{"kind"}},
		{"gdap without email", syncjobs.StartRequest{Kind: model.SyncKindGDAPCustomers}, []string{"notify_email"}},
		{"gdap display name", syncjobs.StartRequest{Kind: model.SyncKindGDAPCustomers, NotifyEmail: "Ops <ops@partner.example>"}, []string{"notify_email"}},
		{"gdap other company", syncjobs.StartRequest{Kind: model.SyncKindGDAPCustomers, CompanyID: "11111111-1111-4111-8111-111111111111", NotifyEmail: notifyTo}, []string{"company_id"}},
		{"axema bad company", syncjobs.StartRequest{Kind: model.SyncKindAxemaUsers, CompanyID: "acme"}, []string{"company_id"}},
		{"axema with email", syncjobs.StartRequest{Kind: model.SyncKindAxemaUsers, NotifyEmail: notifyTo}, []string{"notify_email"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.Start(t.Context(), tc.req)
			var ve *syncjobs.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
			var got []string
			for _, f := range ve.Fields {
				got = append(got, f.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("fields %v, want %v", got, tc.fields)
			}
		})
	}
	if n := e.bokaStarts() + len(e.gdap.SyncRequests()); n != 0 {
		t.Fatalf("invalid requests reached vendors %d times", n)
	}
	jobs, _ := e.store.ListSyncJobs(t.Context(), store.SyncJobFilter{Limit: 10})
	if len(jobs) != 0 {
		t.Fatalf("invalid requests were recorded: %+v", jobs)
	}
}

func TestRefreshFailureReturnsTheRecordedState(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	j := e.startAxema(t).Job
	e.clock.Advance(stepSize)
	e.boka.Faults.Set(simfault.Fault{Status: 503, PathContains: "usersync"})
	got := e.get(t, j.ID)
	if got.Job.State != model.SyncPending || got.Complete || len(got.Sources) != 1 ||
		got.Sources[0].Status != upstream.StatusError || !got.Sources[0].Stale {
		t.Fatalf("get with BokaMera down: %+v", got)
	}
	page, err := e.svc.List(t.Context(), store.SyncJobFilter{Limit: 10})
	if err != nil || len(page.Items) != 1 || page.Complete || page.Items[0].State != model.SyncPending {
		t.Fatalf("list with BokaMera down: %+v %v", page, err)
	}
	e.boka.Faults.Clear()
	if got := e.get(t, j.ID); got.Job.State != model.SyncRunning || !got.Complete {
		t.Fatalf("get after recovery: %+v", got)
	}
}

func TestListRefreshesSoTheStateFilterSeesCurrentStates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	j := e.startAxema(t).Job
	if _, err := e.svc.Start(t.Context(), syncjobs.StartRequest{Kind: model.SyncKindGDAPCustomers, NotifyEmail: notifyTo}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * stepSize)
	page, err := e.svc.List(t.Context(), store.SyncJobFilter{States: []string{model.SyncSucceeded}, Limit: 10})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != j.ID || !page.Complete || len(page.Sources) != 1 {
		t.Fatalf("succeeded jobs: %+v %v", page, err)
	}
	page, err = e.svc.List(t.Context(), store.SyncJobFilter{Kinds: []string{model.SyncKindGDAPCustomers}, Limit: 10})
	if err != nil || len(page.Items) != 1 || page.Items[0].Kind != model.SyncKindGDAPCustomers || len(page.Sources) != 0 {
		t.Fatalf("gdap jobs: %+v %v", page, err)
	}
}

func TestListPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ids []string
	for range 5 {
		res, err := e.svc.Start(t.Context(), syncjobs.StartRequest{Kind: model.SyncKindGDAPCustomers, NotifyEmail: notifyTo})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Job.ID)
	}
	var got []string
	f := store.SyncJobFilter{Limit: 2}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging did not end")
		}
		p, err := e.svc.List(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range p.Items {
			got = append(got, j.ID)
		}
		if !p.More {
			break
		}
		f.BeforeSeq = p.Items[len(p.Items)-1].Seq
	}
	want := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("pages gave %v, want newest first %v", got, want)
	}
}

func TestInterruptedStartStopsBlockingAfterTheStartTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// A replica crashed between recording the job and the vendor's answer.
	now := e.clock.Now()
	stuck := store.SyncJob{ID: "0b6f3f9e-2a51-4c1e-9d7a-3f2b1c4d5e6f", Kind: model.SyncKindAxemaUsers,
		CompanyID: strings.ToLower(simseed.BokaMeraCompanyID), State: model.SyncPending, RequestedBy: requester,
		CreatedAt: now, UpdatedAt: now}
	if _, err := e.store.CreateSyncJob(t.Context(), stuck); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Start(t.Context(), syncjobs.StartRequest{Kind: model.SyncKindAxemaUsers}); !errors.Is(err, store.ErrSyncRunning) {
		t.Fatalf("start while the other start may still run: %v", err)
	}
	e.clock.Advance(3 * time.Minute)
	e.startAxema(t)
	got := e.get(t, stuck.ID).Job
	if got.State != model.SyncFailed || !strings.Contains(got.LastError, "interrupted") {
		t.Fatalf("interrupted job: %+v", got)
	}
}

func TestGetUnknownJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.svc.Get(t.Context(), "0b6f3f9e-2a51-4c1e-9d7a-3f2b1c4d5e6f"); !errors.Is(err, syncjobs.ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
}

// recordingAuditor remembers what the service told the audit trail, and
// how many vendor starts had happened at Begin.
type recordingAuditor struct {
	e        *env
	beginErr error

	began       []store.SyncJob
	startsBegin int
	finished    []error
	sources     []string
}

func (a *recordingAuditor) Begin(_ context.Context, j store.SyncJob) (syncjobs.AuditRecord, error) {
	a.began = append(a.began, j)
	a.startsBegin = a.e.bokaStarts()
	if a.beginErr != nil {
		return nil, a.beginErr
	}
	return a, nil
}

func (a *recordingAuditor) Finish(src aggregate.Source, err error) {
	a.finished = append(a.finished, err)
	a.sources = append(a.sources, src.Vendor+":"+src.Status)
}

func TestAuditIsRecordedBeforeTheVendorAndFinishedWithItsOutcome(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := &recordingAuditor{e: e}
	res, err := e.svc.Start(t.Context(), syncjobs.StartRequest{Kind: model.SyncKindAxemaUsers, RequestedBy: requester, Audit: a})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.began) != 1 || a.began[0].ID != res.Job.ID || a.began[0].State != model.SyncPending || a.startsBegin != 0 {
		t.Fatalf("audit begun with %+v after %d vendor starts; want the pending job before any", a.began, a.startsBegin)
	}
	if len(a.finished) != 1 || a.finished[0] != nil || a.sources[0] != "bokamera:ok" || e.bokaStarts() != 1 {
		t.Fatalf("audit finished %v %v after %d vendor starts", a.finished, a.sources, e.bokaStarts())
	}
}

func TestAuditFailureStopsTheStartBeforeTheVendor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	refused := errors.New("audit store down")
	a := &recordingAuditor{e: e, beginErr: refused}
	_, err := e.svc.Start(t.Context(), syncjobs.StartRequest{Kind: model.SyncKindAxemaUsers, RequestedBy: requester, Audit: a})
	if !errors.Is(err, refused) {
		t.Fatalf("start = %v, want the audit error", err)
	}
	if e.bokaStarts() != 0 || len(a.finished) != 0 {
		t.Fatalf("vendor starts %d, audit finishes %d; want none", e.bokaStarts(), len(a.finished))
	}
	stored, err := e.store.SyncJob(t.Context(), a.began[0].ID)
	if err != nil || stored.State != model.SyncFailed || !strings.Contains(stored.LastError, "not sent to the vendor") {
		t.Fatalf("stored job %+v, %v; want failed, not sent", stored, err)
	}
	// The failed job does not block the next start.
	e.startAxema(t)
}

// TestJobsStoredWithOldKindNamesReadWithNewOnes: a job an older gateway
// recorded as gdap-customers (contract 1.x) is answered as gdap_customers.
func TestJobsStoredWithOldKindNamesReadWithNewOnes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := e.clock.Now()
	old, err := e.store.CreateSyncJob(t.Context(), store.SyncJob{ID: "22222222-2222-4222-8222-222222222222", Kind: "gdap-customers",
		CompanyID: strings.ToLower(simseed.PartnerTenantID), State: model.SyncAccepted, NotifyEmail: notifyTo, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.get(t, old.ID); got.Job.Kind != model.SyncKindGDAPCustomers {
		t.Errorf("get: kind %q, want %q", got.Job.Kind, model.SyncKindGDAPCustomers)
	}
	page, err := e.svc.List(t.Context(), store.SyncJobFilter{Limit: 10})
	if err != nil || len(page.Items) != 1 || page.Items[0].Kind != model.SyncKindGDAPCustomers {
		t.Errorf("list: %+v, %v; want the job with kind %s", page.Items, err, model.SyncKindGDAPCustomers)
	}
}
