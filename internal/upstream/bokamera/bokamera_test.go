package bokamera

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/testclock"
	"github.com/partnerhub/gateway/internal/upstream"
	"github.com/partnerhub/gateway/internal/upstream/bokamera/bokamerasim"
	"github.com/partnerhub/gateway/internal/upstream/simfault"
	"github.com/partnerhub/gateway/internal/upstream/simseed"
	"github.com/partnerhub/gateway/internal/upstream/simtest"
)

func newUpstream(t *testing.T) *upstream.Client {
	t.Helper()
	metrics, err := upstream.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	up, err := upstream.New(upstream.Config{Vendor: model.VendorBokaMera, Timeout: 2 * time.Second}, metrics, nil)
	if err != nil {
		t.Fatal(err)
	}
	return up
}

// setup runs a client against a fresh simulator; mod may change the config.
func setup(t *testing.T, opts bokamerasim.Options, mod func(*Config)) (*Client, *bokamerasim.Server, *testclock.Clock) {
	t.Helper()
	clk := testclock.New(time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC))
	opts.Now = clk.Now
	sim, base := simtest.BokaMera(t, opts)
	cfg := Config{
		BaseURL: base, APIKey: bokamerasim.DefaultAPIKey, TokenURL: bokamerasim.TokenURL(base),
		Username: bokamerasim.DefaultUsername, Password: bokamerasim.DefaultPassword,
		CompanyID: simseed.BokaMeraCompanyID,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(newUpstream(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.now = clk.Now
	return c, sim, clk
}

// vendorErr asserts err is an *upstream.Error of kind want with status and code.
func vendorErr(t *testing.T, err, want error, status int, code string) *upstream.Error {
	t.Helper()
	var e *upstream.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want *upstream.Error", err)
	}
	if want != nil && !errors.Is(err, want) || want == nil && e.Err != nil {
		t.Fatalf("kind: got %v, want %v", e.Err, want)
	}
	if e.Status != status || e.Code != code || e.Vendor != model.VendorBokaMera {
		t.Fatalf("got status %d code %q vendor %q, want %d %q", e.Status, e.Code, e.Vendor, status, code)
	}
	return e
}

func grants(sim *bokamerasim.Server) []string {
	var out []string
	for _, r := range sim.Requests() {
		if r.Path == bokamerasim.TokenPath {
			out = append(out, r.Form.Get("grant_type"))
		}
	}
	return out
}

func TestAuthHeadersAndTokenReuse(t *testing.T) {
	c, sim, _ := setup(t, bokamerasim.Options{}, nil)
	ctx := context.Background()
	for range 3 {
		if _, _, err := c.ListCustomers(ctx, CustomerQuery{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.UserSyncJobs(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if n := sim.Faults.Calls(http.MethodPost, bokamerasim.TokenPath); n != 1 {
		t.Fatalf("token requests = %d, want 1 shared by all calls", n)
	}
	reqs := sim.Requests()
	tr := reqs[0]
	if tr.Path != bokamerasim.TokenPath || tr.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("first request %s %q is not the form token request", tr.Path, tr.Header.Get("Content-Type"))
	}
	for k, want := range map[string]string{"grant_type": "password", "client_id": "bm-external-api-users",
		"username": bokamerasim.DefaultUsername, "password": bokamerasim.DefaultPassword} {
		if got := tr.Form.Get(k); got != want {
			t.Errorf("token form %s = %q, want %q", k, got, want)
		}
	}
	if len(tr.Header.Values("x-api-key")) != 0 {
		t.Error("the API key must not go to Keycloak")
	}
	bearer := ""
	for _, r := range reqs[1:] {
		if r.Header.Get("x-api-key") != bokamerasim.DefaultAPIKey || r.Header.Get("Accept") != "application/json" {
			t.Errorf("%s %s: x-api-key %q accept %q", r.Method, r.Path, r.Header.Get("x-api-key"), r.Header.Get("Accept"))
		}
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "Bearer ") || bearer != "" && auth != bearer {
			t.Errorf("%s %s: Authorization %q, want the one cached bearer", r.Method, r.Path, auth)
		}
		bearer = auth
		if got := r.Query.Get("CompanyId"); got != simseed.BokaMeraCompanyID {
			t.Errorf("%s %s: CompanyId %q", r.Method, r.Path, got)
		}
	}
}

func TestConcurrentCallsShareOneToken(t *testing.T) {
	c, sim, _ := setup(t, bokamerasim.Options{}, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, _, err := c.ListCustomers(context.Background(), CustomerQuery{Take: 1})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := sim.Faults.Calls(http.MethodPost, bokamerasim.TokenPath); n != 1 {
		t.Fatalf("token requests = %d, want 1", n)
	}
}

func TestTokenRefreshThenPasswordFallback(t *testing.T) {
	c, sim, clk := setup(t, bokamerasim.Options{}, nil)
	ctx := context.Background()
	list := func() {
		t.Helper()
		if _, _, err := c.ListCustomers(ctx, CustomerQuery{}); err != nil {
			t.Fatal(err)
		}
	}
	list()
	clk.Advance(280 * time.Second) // access token (300 s) within its margin
	list()
	if got := strings.Join(grants(sim), ","); got != "password,refresh_token" {
		t.Fatalf("grants = %s, want a refresh once the access token is due", got)
	}
	refreshed := sim.Requests()[len(sim.Requests())-2]
	if refreshed.Form.Get("client_id") != DefaultClientID || refreshed.Form.Get("refresh_token") == "" {
		t.Fatalf("refresh form = %v", refreshed.Form)
	}

	// The session ends; the refresh is refused, so the client logs in again.
	sim.RevokeSessions()
	clk.Advance(280 * time.Second)
	list()
	if got := strings.Join(grants(sim), ","); got != "password,refresh_token,refresh_token,password" {
		t.Fatalf("grants = %s, want a password login after the refused refresh", got)
	}

	// Past the refresh token's life the client does not even try it.
	clk.Advance(2000 * time.Second)
	list()
	if got := grants(sim); got[len(got)-1] != "password" || len(got) != 5 {
		t.Fatalf("grants = %v, want a direct password login", got)
	}
}

func TestAPIUnauthorizedGetsOneRetryWithAFreshToken(t *testing.T) {
	c, sim, _ := setup(t, bokamerasim.Options{}, nil)
	ctx := context.Background()
	if _, _, err := c.ListCustomers(ctx, CustomerQuery{}); err != nil {
		t.Fatal(err)
	}
	sim.RevokeSessions() // the cached bearer is now rejected by the API
	if _, _, err := c.ListCustomers(ctx, CustomerQuery{}); err != nil {
		t.Fatalf("the call should log in again and succeed: %v", err)
	}
	// The session ended, so the refresh is refused and a login follows.
	if got := strings.Join(grants(sim), ","); got != "password,refresh_token,password" {
		t.Fatalf("grants = %s", got)
	}
	// A 401 a fresh token does not cure is reported after one retry.
	sim.Faults.Set(simfault.Fault{Status: http.StatusUnauthorized, PathContains: "/customers"})
	before := sim.Faults.Calls(http.MethodGet, "/customers")
	_, _, err := c.ListCustomers(ctx, CustomerQuery{})
	e := vendorErr(t, err, upstream.ErrCredentials, http.StatusUnauthorized, "Unauthorized")
	if e.Op != "list_customers" {
		t.Fatalf("op %q", e.Op)
	}
	if n := sim.Faults.Calls(http.MethodGet, "/customers") - before; n != 2 {
		t.Fatalf("customer requests = %d, want 2 (one retry)", n)
	}
}

func TestWrongCredentials(t *testing.T) {
	t.Run("password", func(t *testing.T) {
		c, _, _ := setup(t, bokamerasim.Options{}, func(cfg *Config) { cfg.Password = "wrong-secret-xyz" })
		_, _, err := c.ListCustomers(context.Background(), CustomerQuery{})
		e := vendorErr(t, err, upstream.ErrCredentials, http.StatusUnauthorized, "invalid_grant")
		if e.Message != "Invalid user credentials" || e.Op != "token" {
			t.Fatalf("message %q op %q", e.Message, e.Op)
		}
		if strings.Contains(err.Error(), "wrong-secret-xyz") {
			t.Fatal("error leaks the password")
		}
	})
	t.Run("client id", func(t *testing.T) {
		c, _, _ := setup(t, bokamerasim.Options{}, func(cfg *Config) { cfg.ClientID = "other-client" })
		_, err := c.UserSyncJobs(context.Background(), "")
		_ = vendorErr(t, err, upstream.ErrCredentials, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("api key", func(t *testing.T) {
		c, _, _ := setup(t, bokamerasim.Options{}, func(cfg *Config) { cfg.APIKey = "11111111-2222-3333-4444-555555555555" })
		_, _, err := c.ListCustomers(context.Background(), CustomerQuery{})
		_ = vendorErr(t, err, upstream.ErrCredentials, http.StatusUnauthorized, "Unauthorized")
		if strings.Contains(err.Error(), "11111111") {
			t.Fatal("error leaks the API key")
		}
	})
	t.Run("foreign company", func(t *testing.T) {
		c, _, _ := setup(t, bokamerasim.Options{}, nil)
		_, err := c.UserSyncJobs(context.Background(), "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee")
		e := vendorErr(t, err, upstream.ErrCredentials, http.StatusForbidden, "Forbidden")
		if e.Message != "You have too low privileges to call this service" {
			t.Fatalf("message %q", e.Message)
		}
	})
}

func TestListCustomers(t *testing.T) {
	c, sim, _ := setup(t, bokamerasim.Options{}, nil)
	ctx := context.Background()
	items, total, err := c.ListCustomers(ctx, CustomerQuery{Skip: 3, Take: 10})
	if err != nil {
		t.Fatal(err)
	}
	if total != len(simseed.BookingCustomers) || len(items) != 2 {
		t.Fatalf("total %d items %d, want %d and 2", total, len(items), len(simseed.BookingCustomers))
	}
	last := simseed.BookingCustomers[4]
	want := model.BookingCustomer{ID: last.ID, CompanyID: simseed.BokaMeraCompanyID, FirstName: last.First,
		LastName: last.Last, Email: last.Email, Phone: last.Phone, Visible: false,
		CreatedAt: bokamerasim.CustomerEpoch.Add(4 * 29 * time.Hour), UpdatedAt: bokamerasim.CustomerEpoch.Add(4*29*time.Hour + 4*24*time.Hour + time.Hour)}
	if items[1] != want {
		t.Fatalf("got %+v\nwant %+v", items[1], want)
	}
	r := sim.Requests()[len(sim.Requests())-1]
	if r.Query.Get("Skip") != "3" || r.Query.Get("Take") != "10" {
		t.Fatalf("query %v", r.Query)
	}

	items, total, err = c.ListCustomers(ctx, CustomerQuery{Search: "CONTOSO"})
	if err != nil {
		t.Fatal(err)
	}
	if total != 2 || len(items) != 2 || items[0].FirstName != "Anna" || items[1].FirstName != "Per" {
		t.Fatalf("search CONTOSO: total %d %+v", total, items)
	}
}

func TestAllCustomersPagesPastServerCap(t *testing.T) {
	// The server caps Take at 2 although the client asks for 100.
	c, sim, _ := setup(t, bokamerasim.Options{MaxTake: 2}, nil)
	all, err := c.AllCustomers(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(simseed.BookingCustomers) {
		t.Fatalf("got %d customers, want %d", len(all), len(simseed.BookingCustomers))
	}
	for i, b := range all {
		if b.ID != simseed.BookingCustomers[i].ID {
			t.Fatalf("customer %d = %s, want seed order", i, b.ID)
		}
	}
	if n := sim.Faults.Calls(http.MethodGet, "/customers"); n != 3 {
		t.Fatalf("pages = %d, want 3", n)
	}
	var skips []string
	for _, r := range sim.Requests() {
		if r.Path == "/customers" {
			skips = append(skips, r.Query.Get("Skip")+"/"+r.Query.Get("Take"))
		}
	}
	// After the first page the walk asks for what the server really serves;
	// the remaining pages are read concurrently, so in any order.
	slices.Sort(skips)
	if got := strings.Join(skips, " "); got != "/100 2/2 4/2" {
		t.Fatalf("Skip/Take = %s", got)
	}
}

func TestAllCustomersStopsRunawayPaging(t *testing.T) {
	// A server that ignores Skip and always claims more would loop forever.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			_, _ = w.Write([]byte(`{"access_token":"a","expires_in":300}`))
			return
		}
		_, _ = w.Write([]byte(`{"Offset":0,"Total":1000000,"Results":[{"Id":"x","Firstname":"A"}]}`))
	}))
	defer srv.Close()
	c, err := New(newUpstream(t), Config{BaseURL: srv.URL + "/", TokenURL: srv.URL + "/token", APIKey: "k", Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.AllCustomers(context.Background(), "")
	if !errors.Is(err, upstream.ErrIncomplete) {
		t.Fatalf("got %v, want ErrIncomplete after the page guard", err)
	}
}

func TestUserSyncLifecycle(t *testing.T) {
	c, _, clk := setup(t, bokamerasim.Options{SyncStepDuration: 2 * time.Second}, nil)
	ctx := context.Background()
	start := clk.Now()
	job, err := c.StartUserSync(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if job.State != model.SyncPending || job.VendorJobID == "" || job.CompanyID != simseed.BokaMeraCompanyID ||
		job.UsersFound != nil || !job.CreatedAt.Equal(start) {
		t.Fatalf("new job %+v", job)
	}

	_, err = c.StartUserSync(ctx, "")
	e := vendorErr(t, err, upstream.ErrConflict, http.StatusConflict, "Conflict")
	if e.Message != "A user sync is already running for this company" {
		t.Fatalf("message %q", e.Message)
	}

	clk.Advance(2 * time.Second)
	if job, err = c.UserSyncJob(ctx, job.VendorJobID, ""); err != nil || job.State != model.SyncRunning {
		t.Fatalf("after one step: %+v %v", job, err)
	}
	clk.Advance(2 * time.Second)
	job, err = c.UserSyncJob(ctx, job.VendorJobID, "")
	if err != nil || job.State != model.SyncSucceeded || job.UsersFound == nil || job.UsersUpdated == nil ||
		*job.UsersFound != len(simseed.BookingCustomers) || !job.UpdatedAt.Equal(start.Add(4*time.Second)) {
		t.Fatalf("after two steps: %+v %v", job, err)
	}

	clk.Advance(time.Second)
	second, err := c.StartUserSync(ctx, simseed.BokaMeraCompanyID)
	if err != nil {
		t.Fatalf("a finished sync must not block a new one: %v", err)
	}
	jobs, err := c.UserSyncJobs(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].VendorJobID != second.VendorJobID || jobs[1].VendorJobID != job.VendorJobID {
		t.Fatalf("jobs not newest first: %+v", jobs)
	}
}

func TestFailedSync(t *testing.T) {
	c, sim, clk := setup(t, bokamerasim.Options{SyncStepDuration: time.Second}, nil)
	ctx := context.Background()
	sim.FailNextSync("Could not connect to Axema Vaka")
	job, err := c.StartUserSync(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(3 * time.Second)
	job, err = c.UserSyncJob(ctx, job.VendorJobID, "")
	if err != nil || job.State != model.SyncFailed || job.Error != "Could not connect to Axema Vaka" || job.UsersFound != nil {
		t.Fatalf("%+v %v", job, err)
	}
}

func TestUnknownAndInvalidJob(t *testing.T) {
	c, _, _ := setup(t, bokamerasim.Options{}, nil)
	ctx := context.Background()
	_, err := c.UserSyncJob(ctx, "0b7e1c2d-3f4a-4b5c-8d6e-7f8a9b0c1d2e", "")
	_ = vendorErr(t, err, upstream.ErrNotFound, http.StatusNotFound, "NotFound")
	_, err = c.UserSyncJob(ctx, "not a guid/..", "")
	_ = vendorErr(t, err, upstream.ErrRejected, http.StatusBadRequest, "RequestBindingException")
}

func TestInjectedFaults(t *testing.T) {
	c, sim, clk := setup(t, bokamerasim.Options{}, nil)
	ctx := context.Background()
	sim.Faults.Set(simfault.Fault{Status: http.StatusInternalServerError, PathContains: "/customers"})
	_, _, err := c.ListCustomers(ctx, CustomerQuery{})
	e := vendorErr(t, err, nil, http.StatusInternalServerError, "InternalServerError")
	if e.Message != "Internal Server Error" || upstream.SourceStatus(err) != upstream.StatusError {
		t.Fatalf("message %q", e.Message)
	}

	sim.Faults.Set(simfault.Fault{Status: http.StatusTooManyRequests, RetryAfterSeconds: 7, PathContains: "usersync"})
	_, err = c.UserSyncJobs(ctx, "")
	e = vendorErr(t, err, nil, http.StatusTooManyRequests, "TooManyRequests")
	if e.RetryAfter != 7*time.Second {
		t.Fatalf("RetryAfter = %v", e.RetryAfter)
	}

	sim.Faults.Set(simfault.Fault{Malformed: true, PathContains: "/customers"})
	_, _, err = c.ListCustomers(ctx, CustomerQuery{})
	if !errors.Is(err, upstream.ErrMalformed) {
		t.Fatalf("got %v, want ErrMalformed", err)
	}

	// A Keycloak outage is not a credentials problem (and its body is not
	// Keycloak's error format, so no code).
	sim.Faults.Set(simfault.Fault{Status: http.StatusServiceUnavailable, PathContains: "openid-connect"})
	clk.Advance(24 * time.Hour) // past the access and the refresh token
	_, err = c.UserSyncJobs(ctx, "")
	e = vendorErr(t, err, nil, http.StatusServiceUnavailable, "")
	if e.Op != "token" {
		t.Fatalf("op %q", e.Op)
	}
}

func TestAPIErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		name, body    string
		status        int
		want          error
		code, message string
	}{
		{"conflict as 400 by code", `{"ResponseStatus":{"ErrorCode":"Conflict","Message":"busy"}}`, 400, upstream.ErrConflict, "Conflict", "busy"},
		{"conflict as 400 by message", `{"ResponseStatus":{"ErrorCode":"ArgumentException","Message":"A sync is already in progress"}}`, 400, upstream.ErrConflict, "ArgumentException", "A sync is already in progress"},
		{"validation uses field errors", `{"ResponseStatus":{"ErrorCode":"","Errors":[{"ErrorCode":"NotEmpty","FieldName":"CompanyId","Message":"must not be empty"}]}}`, 400, upstream.ErrRejected, "NotEmpty", "CompanyId: must not be empty"},
		{"validation", `{"ResponseStatus":{"ErrorCode":"ValidationException","Message":"Axema settings missing"}}`, 400, upstream.ErrRejected, "ValidationException", "Axema settings missing"},
		{"forbidden", `{"ResponseStatus":{"ErrorCode":"Forbidden","Message":"too low"}}`, 403, upstream.ErrCredentials, "Forbidden", "too low"},
		{"not json", `<html>oops</html>`, 502, nil, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(tc.body))}
			err := apiError(resp)
			var e *upstream.Error
			if !errors.As(err, &e) || e.Code != tc.code || e.Message != tc.message || e.Status != tc.status {
				t.Fatalf("got %#v", err)
			}
			if tc.want == nil && e.Err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("kind %v, want %v", e.Err, tc.want)
			}
		})
	}
}

func TestWireFormats(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2025-03-10T09:00:00":          time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC),
		"2025-03-10T09:00:00.1234567":  time.Date(2025, 3, 10, 9, 0, 0, 123456700, time.UTC),
		"2025-03-10T09:00:00Z":         time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC),
		"2025-03-10T11:00:00.5+02:00":  time.Date(2025, 3, 10, 9, 0, 0, 5e8, time.UTC),
		"2025-03-10T11:00:00.000+0200": time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC),
	} {
		got, err := parseTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseTime("/Date(1700000000000)/"); err == nil {
		t.Error("WCF dates are not the documented format")
	}

	// Some deployments answer the customer query with a bare array.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			_, _ = w.Write([]byte(`{"access_token":"a","expires_in":300}`))
			return
		}
		_, _ = w.Write([]byte(`[{"Id":"1","FirstName":"Ada","lastname":"L","Visible":true},{"Id":"2","Firstname":"Bo"}]`))
	}))
	defer srv.Close()
	c, err := New(newUpstream(t), Config{BaseURL: srv.URL + "/", TokenURL: srv.URL + "/token", APIKey: "k", Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	all, err := c.AllCustomers(context.Background(), "")
	if err != nil || len(all) != 2 || all[0].FirstName != "Ada" || all[0].LastName != "L" || !all[0].Visible || all[1].FirstName != "Bo" {
		t.Fatalf("%+v %v", all, err)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	_, err := New(nil, Config{BaseURL: "https://api.bokamera.se", TokenURL: "identity/token", CompanyID: "acme"})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"upstream client", "BaseURL", "TokenURL", "APIKey", "username and password", "CompanyID"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	c, err := New(newUpstream(t), Config{BaseURL: "https://api.bokamera.se/", TokenURL: "https://identity.bookmore.com/t",
		APIKey: "k", Username: "u", Password: "p"})
	if err != nil || c.cfg.ClientID != DefaultClientID {
		t.Fatalf("%v %q", err, c.cfg.ClientID)
	}
}

// Created/Updated are optional and their names unverified: a missing,
// null or odd value leaves the date out and never fails the list.
func TestCustomerDatesAreLenient(t *testing.T) {
	for raw, want := range map[string]time.Time{
		`{"Id":"x","Created":"2024-02-03T04:05:06"}`:       time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC),
		`{"Id":"x","Created":"2024-02-03T04:05:06+01:00"}`: time.Date(2024, 2, 3, 3, 5, 6, 0, time.UTC),
		`{"Id":"x","Created":null}`:                        {},
		`{"Id":"x","Created":"yesterday"}`:                 {},
		`{"Id":"x","Created":17}`:                          {},
		`{"Id":"x","Created":"0001-01-01T00:00:00"}`:       {},
		`{"Id":"x"}`: {},
	} {
		var w wireCustomer
		if err := json.Unmarshal([]byte(raw), &w); err != nil || !time.Time(w.Created).Equal(want) {
			t.Errorf("%s: %v %v, want %v", raw, time.Time(w.Created), err, want)
		}
	}
}
