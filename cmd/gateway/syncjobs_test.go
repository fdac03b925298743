package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/testclock"
	"github.com/partnerhub/gateway/internal/upstream/bokamera/bokamerasim"
	"github.com/partnerhub/gateway/internal/upstream/simfault"
	"github.com/partnerhub/gateway/internal/upstream/simseed"
	"github.com/partnerhub/gateway/internal/upstream/simtest"
)

type syncJob struct {
	ID           string `json:"id"`
	Kind         string `json:"kind"`
	CompanyID    string `json:"company_id"`
	State        string `json:"state"`
	VendorJobID  string `json:"vendor_job_id"`
	NotifyEmail  string `json:"notify_email"`
	RequestedBy  string `json:"requested_by"`
	UsersFound   *int   `json:"users_found"`
	UsersCreated *int   `json:"users_created"`
	UsersUpdated *int   `json:"users_updated"`
	LastError    string `json:"last_error"`
	FinishedAt   string `json:"finished_at"`
	sourced
}

type syncJobList struct {
	Items         []syncJob `json:"items"`
	NextPageToken string    `json:"next_page_token"`
	sourced
}

const (
	axemaStart  = `{"kind":"axema_users"}`
	gdapStart   = `{"kind":"gdap_customers","notify_email":"ops@partner.example"}`
	axemaPath   = "/codelock/axema/usersync"
	unknownJob  = "/v1/sync-jobs/0b6f3f9e-2a51-4c1e-9d7a-3f2b1c4d5e6f"
	syncJobsURL = "/v1/sync-jobs"
)

// startSyncGateway runs a gateway whose BokaMera simulator moves a sync
// through Pending and Processing in step each.
func startSyncGateway(t *testing.T, step time.Duration) (*vendorSims, *bokamerasim.Server, *gateway, *client) {
	t.Helper()
	sims := newVendorSims(t)
	boka, bokaURL := simtest.BokaMera(t, bokamerasim.Options{SyncStepDuration: step})
	gw := startRun(t, nil, sims.Env("GATEWAY_BOKAMERA_BASE_URL", bokaURL, "GATEWAY_BOKAMERA_TOKEN_URL", bokamerasim.TokenURL(bokaURL)))
	return sims, boka, gw, newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-operator"))
}

// waitForState polls the job until it reaches state or the deadline passes.
func waitForState(t *testing.T, c *client, path, state string) syncJob {
	t.Helper()
	var j syncJob
	testclock.WaitFor(t, 15*time.Second, 50*time.Millisecond, "job "+path+" reaching "+state, func() bool {
		j = syncJob{}
		r := c.do("GET", path, "")
		if r.Status != 200 {
			t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
		}
		r.JSON(t, &j)
		return j.State == state
	})
	return j
}

func TestSyncJobsAxemaLifecycle(t *testing.T) {
	sims, boka, gw, c := startSyncGateway(t, 150*time.Millisecond)
	r := c.do("POST", syncJobsURL, axemaStart)
	if r.Status != 202 {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	var started syncJob
	r.JSON(t, &started)
	loc := r.Header.Get("Location")
	if loc != syncJobsURL+"/"+started.ID || started.Kind != "axema_users" || started.State != "pending" ||
		started.VendorJobID == "" || started.CompanyID != strings.ToLower(simseed.BokaMeraCompanyID) || started.RequestedBy == "" {
		t.Fatalf("started: Location %q, %+v", loc, started)
	}

	done := waitForState(t, c, loc, "succeeded")
	if done.UsersFound == nil || *done.UsersFound != len(simseed.BookingCustomers) || done.UsersCreated == nil ||
		done.UsersUpdated == nil || done.FinishedAt == "" || !done.Complete || done.VendorJobID != started.VendorJobID {
		t.Fatalf("finished job: %+v", done)
	}
	if n := boka.Faults.Calls("POST", axemaPath); n != 1 {
		t.Fatalf("BokaMera got %d starts", n)
	}

	// Readers follow jobs but cannot start them.
	reader := c.withToken(fetchToken(t, sims.Issuer.URL(), "dev-reader"))
	var list syncJobList
	reader.do("GET", syncJobsURL+"?kind=axema_users", "").JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != started.ID || list.Items[0].State != "succeeded" || !list.Complete {
		t.Fatalf("reader's list: %+v", list)
	}
	expectProblem(t, reader.do("POST", syncJobsURL, axemaStart), 403)
	if n := boka.Faults.Calls("POST", axemaPath); n != 1 {
		t.Fatalf("a forbidden start reached BokaMera (%d starts)", n)
	}
	if !strings.Contains(gw.Stderr.String(), `"operation":"sync_jobs.start"`) {
		t.Error("no write log for the start")
	}
}

func TestSyncJobsAxemaFailureIsReported(t *testing.T) {
	_, boka, _, c := startSyncGateway(t, 100*time.Millisecond)
	boka.FailNextSync("Axema Vaka credentials are invalid")
	r := c.do("POST", syncJobsURL, axemaStart)
	if r.Status != 202 {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	j := waitForState(t, c, r.Header.Get("Location"), "failed")
	if j.LastError != "Axema Vaka credentials are invalid" || j.FinishedAt == "" {
		t.Fatalf("failed job: %+v", j)
	}

	// BokaMera refusing the start: the job is recorded failed, the answer
	// is the vendor's error, and the slot is free for the next start.
	boka.Faults.Set(simfault.Fault{Status: 500, PathContains: "usersync"})
	p := expectProblem(t, c.do("POST", syncJobsURL, axemaStart), 502)
	if !strings.Contains(p.Detail, "/v1/sync-jobs/") {
		t.Fatalf("502 does not name the recorded job: %+v", p)
	}
	boka.Faults.Clear()
	var failed syncJobList
	c.do("GET", syncJobsURL+"?state=failed", "").JSON(t, &failed)
	if len(failed.Items) != 2 || failed.Items[0].LastError == "" || !strings.Contains(p.Detail, failed.Items[0].ID) {
		t.Fatalf("failed jobs: %+v", failed)
	}
	if r := c.do("POST", syncJobsURL, axemaStart); r.Status != 202 {
		t.Fatalf("start after a refusal: %d %s", r.Status, r.Body)
	}
}

func TestSyncJobsSecondStartIsAConflict(t *testing.T) {
	// Steps of an hour: the first sync stays active for the whole test.
	_, boka, _, c := startSyncGateway(t, time.Hour)
	first := c.do("POST", syncJobsURL, axemaStart)
	if first.Status != 202 {
		t.Fatalf("first start: %d %s", first.Status, first.Body)
	}
	p := expectProblem(t, c.do("POST", syncJobsURL, `{"kind":"axema_users","company_id":"`+strings.ToUpper(simseed.BokaMeraCompanyID)+`"}`), 409)
	if !strings.Contains(p.Detail, first.Header.Get("Location")) {
		t.Fatalf("409 does not name the running job: %+v", p)
	}
	if n := boka.Faults.Calls("POST", axemaPath); n != 1 {
		t.Fatalf("BokaMera got %d starts; the second must not reach it", n)
	}
	// The running job is refreshed on read and stays listed as active.
	var list syncJobList
	c.do("GET", syncJobsURL+"?state=pending", "").JSON(t, &list)
	if len(list.Items) != 1 || len(list.Sources) != 1 || list.Sources[0].Vendor != "bokamera" {
		t.Fatalf("pending jobs: %+v", list)
	}

	// BokaMera down while reading: the recorded state, marked incomplete.
	boka.Faults.Set(simfault.Fault{Status: 503, PathContains: "usersync"})
	var j syncJob
	c.do("GET", first.Header.Get("Location"), "").JSON(t, &j)
	if j.State != "pending" || j.Complete || len(j.Sources) != 1 || j.Sources[0].Status != "error" {
		t.Fatalf("job with BokaMera down: %+v", j)
	}
}

func TestSyncJobsGDAP(t *testing.T) {
	sims, _, _, c := startSyncGateway(t, time.Second)
	r := c.do("POST", syncJobsURL, gdapStart, "Idempotency-Key", "gdap-sync-1")
	if r.Status != 202 {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	var j syncJob
	r.JSON(t, &j)
	if j.State != "accepted" || j.NotifyEmail != "ops@partner.example" || j.CompanyID != strings.ToLower(simseed.PartnerTenantID) || !j.Complete {
		t.Fatalf("gdap job: %+v", j)
	}
	// A retried request with the same key gets the first answer; GDAP is
	// asked once.
	again := c.do("POST", syncJobsURL, gdapStart, "Idempotency-Key", "gdap-sync-1")
	if again.Status != 202 || string(again.Body) != string(r.Body) || again.Header.Get("Idempotent-Replayed") != "true" ||
		again.Header.Get("Location") != r.Header.Get("Location") {
		t.Fatalf("replay: %d %v %s", again.Status, again.Header, again.Body)
	}
	if n := len(sims.GDAP.SyncRequests()); n != 1 {
		t.Fatalf("GDAP got %d sync requests, want 1", n)
	}
	var got syncJob
	c.do("GET", r.Header.Get("Location"), "").JSON(t, &got)
	if got.ID != j.ID || got.State != "accepted" || len(got.Sources) != 0 {
		t.Fatalf("get: %+v", got)
	}
}

func TestSyncJobsListPages(t *testing.T) {
	_, _, _, c := startSyncGateway(t, time.Second)
	var ids []string
	for i := range 3 {
		r := c.do("POST", syncJobsURL, fmt.Sprintf(`{"kind":"gdap_customers","notify_email":"ops%d@partner.example"}`, i))
		var j syncJob
		r.JSON(t, &j)
		ids = append([]string{j.ID}, ids...) // newest first
	}
	var got []string
	path := syncJobsURL + "?kind=gdap_customers&page_size=2"
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("paging did not end")
		}
		var page syncJobList
		c.do("GET", path, "").JSON(t, &page)
		for _, j := range page.Items {
			got = append(got, j.ID)
		}
		if page.NextPageToken == "" {
			break
		}
		path = syncJobsURL + "?kind=gdap_customers&page_size=2&page_token=" + url.QueryEscape(page.NextPageToken)
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Fatalf("pages gave %v, want %v", got, ids)
	}
	// A token is only good for the filters it was issued for.
	var page syncJobList
	c.do("GET", syncJobsURL+"?kind=gdap_customers&page_size=2", "").JSON(t, &page)
	p := expectProblem(t, c.do("GET", syncJobsURL+"?page_size=2&page_token="+url.QueryEscape(page.NextPageToken), ""), 400)
	if len(p.Errors) != 1 || p.Errors[0].Location != "query.page_token" {
		t.Fatalf("token for other filters: %+v", p)
	}
}

func TestSyncJobsRejectBadInput(t *testing.T) {
	sims, boka, _, c := startSyncGateway(t, time.Second)
	tests := []struct {
		name, method, path, body string
		status                   int
		locations                []string
		detail                   string // in the first error's message
	}{
		{"no kind", "POST", syncJobsURL, `{}`, 400, []string{"body.kind"}, "gdap_customers, axema_users"},
		{"unknown kind", "POST", syncJobsURL, `{"kind":"crayon-tenants"}`, 400, []string{"body.kind"}, "gdap_customers, axema_users"},
		{"kind not a string", "POST", syncJobsURL, `{"kind":3}`, 400, []string{"body.kind"}, ""},
		{"unknown field", "POST", syncJobsURL, `{"kind":"axema_users","users":1}`, 400, []string{"body.users"}, ""},
		{"gdap without email", "POST", syncJobsURL, `{"kind":"gdap_customers"}`, 400, []string{"body.notify_email"}, ""},
		{"gdap bad email", "POST", syncJobsURL, `{"kind":"gdap_customers","notify_email":"ops at partner"}`, 400, []string{"body.notify_email"}, ""},
		{"gdap other company", "POST", syncJobsURL, `{"kind":"gdap_customers","company_id":"11111111-1111-4111-8111-111111111111","notify_email":"a@b.example"}`, 400, []string{"body.company_id"}, ""},
		{"axema bad company and email", "POST", syncJobsURL, `{"kind":"axema_users","company_id":"acme","notify_email":"a@b.example"}`, 400, []string{"body.company_id", "body.notify_email"}, ""},
		{"malformed id", "GET", syncJobsURL + "/not-a-job", "", 400, []string{"path.id"}, ""},
		{"bad filters", "GET", syncJobsURL + "?kind=x&state=done&page_size=0&sort=asc", "", 400, []string{"query.sort", "query.kind", "query.state", "query.page_size"}, ""},
		{"forged token", "GET", syncJobsURL + "?page_token=abc", "", 400, []string{"query.page_token"}, ""},
		{"unknown job", "GET", unknownJob, "", 404, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := expectProblem(t, c.do(tc.method, tc.path, tc.body), tc.status)
			var got []string
			for _, e := range p.Errors {
				got = append(got, e.Location)
			}
			if strings.Join(got, ",") != strings.Join(tc.locations, ",") {
				t.Fatalf("locations %v, want %v (%+v)", got, tc.locations, p)
			}
			if tc.detail != "" && !strings.Contains(p.Errors[0].Message, tc.detail) {
				t.Fatalf("message %q does not list %q", p.Errors[0].Message, tc.detail)
			}
		})
	}
	if n := boka.Faults.Calls("POST", axemaPath) + len(sims.GDAP.SyncRequests()); n != 0 {
		t.Fatalf("bad requests reached vendors %d times", n)
	}
	var list syncJobList
	c.do("GET", syncJobsURL, "").JSON(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("bad requests were recorded: %+v", list.Items)
	}
}
