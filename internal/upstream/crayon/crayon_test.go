package crayon

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/testclock"
	"github.com/partnerhub/gateway/internal/upstream"
	"github.com/partnerhub/gateway/internal/upstream/crayon/crayonsim"
	"github.com/partnerhub/gateway/internal/upstream/simfault"
	"github.com/partnerhub/gateway/internal/upstream/simseed"
	"github.com/partnerhub/gateway/internal/upstream/simtest"
)

const (
	tokenPath = "/api/v1/connect/token"
	listPath  = "/api/v1/customertenants/"
)

func defaultConfig(base string) Config {
	return Config{
		BaseURL: base, ClientID: crayonsim.DefaultClientID, ClientSecret: crayonsim.DefaultClientSecret,
		Username: crayonsim.DefaultUsername, Password: crayonsim.DefaultPassword,
		OrganizationID: simseed.CrayonOrganizationID,
	}
}

func newUpstream(t *testing.T) *upstream.Client {
	t.Helper()
	metrics, err := upstream.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	up, err := upstream.New(upstream.Config{Vendor: model.VendorCrayon, Timeout: 2 * time.Second}, metrics, nil)
	if err != nil {
		t.Fatal(err)
	}
	return up
}

// setup starts a simulator and a client for it; edit may change the config.
func setup(t *testing.T, opts crayonsim.Options, edit func(*Config)) (*Client, *crayonsim.Server) {
	t.Helper()
	sim, base := simtest.Crayon(t, opts)
	cfg := defaultConfig(base)
	if edit != nil {
		edit(&cfg)
	}
	c, err := New(newUpstream(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, sim
}

// wantErr checks err is an *upstream.Error of the given kind and wire values.
func wantErr(t *testing.T, err error, kind error, status int, code, msgPart string) *upstream.Error {
	t.Helper()
	var e *upstream.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *upstream.Error", err, err)
	}
	if kind != nil && !errors.Is(err, kind) {
		t.Errorf("error %v is not %v", err, kind)
	}
	if kind == nil && e.Err != nil {
		t.Errorf("error %v carries kind %v, want none", err, e.Err)
	}
	if e.Vendor != model.VendorCrayon || e.Status != status || e.Code != code || !strings.Contains(e.Message, msgPart) {
		t.Errorf("got vendor %q status %d code %q message %q; want crayon %d %q containing %q",
			e.Vendor, e.Status, e.Code, e.Message, status, code, msgPart)
	}
	return e
}

func TestNewReportsEveryConfigProblem(t *testing.T) {
	_, err := New(newUpstream(t), Config{BaseURL: "https://api.crayon.com", Password: "hunter2"})
	if err == nil {
		t.Fatal("New accepted an invalid config")
	}
	for _, want := range []string{"end with /", "client id", "client secret", "username", "organization id"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Error("config error leaks the password")
	}
	if _, err := New(newUpstream(t), defaultConfig("ftp://api.crayon.com/")); err == nil {
		t.Error("New accepted a non-http base URL")
	}
}

func TestAuthHeadersAndTokenReuse(t *testing.T) {
	c, sim := setup(t, crayonsim.Options{}, nil)
	ctx := context.Background()
	if _, _, err := c.ListTenants(ctx, TenantFilter{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Tenant(ctx, "1001"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Agreements(ctx, "1001"); err != nil {
		t.Fatal(err)
	}
	if n := sim.Faults.Calls(http.MethodPost, tokenPath); n != 1 {
		t.Errorf("token requests = %d, want 1 reused token", n)
	}

	reqs := sim.Received()
	if len(reqs) != 4 {
		t.Fatalf("simulator received %d requests, want 4", len(reqs))
	}
	tok := reqs[0]
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(crayonsim.DefaultClientID+":"+crayonsim.DefaultClientSecret))
	if got := tok.Header.Get("Authorization"); got != basic {
		t.Errorf("token Authorization = %q, want %q", got, basic)
	}
	if got := tok.Header.Get("Content-Type"); got != "application/x-www-form-urlencoded" {
		t.Errorf("token Content-Type = %q", got)
	}
	for k, want := range map[string]string{"grant_type": "password", "username": crayonsim.DefaultUsername,
		"password": crayonsim.DefaultPassword, "scope": "CustomerApi"} {
		if got := tok.Form.Get(k); got != want {
			t.Errorf("token form %s = %q, want %q", k, got, want)
		}
	}
	list := reqs[1]
	if list.Path != listPath {
		t.Errorf("list path = %q", list.Path)
	}
	for k, want := range map[string]string{"OrganizationId": "4703", "Page": "1", "PageSize": "50"} {
		if got := list.Query.Get(k); got != want {
			t.Errorf("list query %s = %q, want %q", k, got, want)
		}
	}
	if reqs[2].Path != "/api/v1/customertenants/1001/" || reqs[3].Path != "/api/v1/customertenants/1001/agreements" {
		t.Errorf("paths = %q, %q", reqs[2].Path, reqs[3].Path)
	}
	bearer := reqs[1].Header.Get("Authorization")
	for _, r := range reqs[1:] {
		if got := r.Header.Get("Authorization"); !strings.HasPrefix(got, "Bearer sim.") || got != bearer {
			t.Errorf("%s %s Authorization = %q, want the one bearer token", r.Method, r.Path, got)
		}
		if got := r.Header.Get("Accept"); got != "application/json" {
			t.Errorf("%s %s Accept = %q", r.Method, r.Path, got)
		}
	}
}

func TestConcurrentCallsShareOneLogin(t *testing.T) {
	c, sim := setup(t, crayonsim.Options{}, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := c.Tenant(context.Background(), "1001")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := sim.Faults.Calls(http.MethodPost, tokenPath); n != 1 {
		t.Errorf("token requests = %d, want 1 for 8 concurrent calls", n)
	}
}

func TestTokenRenewedShortlyBeforeExpiry(t *testing.T) {
	clk := testclock.New(time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)) // shared by client and simulator
	c, sim := setup(t, crayonsim.Options{Now: clk.Now}, nil)
	c.now = clk.Now
	ctx := context.Background()
	get := func() {
		t.Helper()
		if _, err := c.Tenant(ctx, "1001"); err != nil {
			t.Fatal(err)
		}
	}
	get()
	clk.Advance(54 * time.Minute) // 6 minutes left of 60: keep it
	get()
	if n := sim.Faults.Calls(http.MethodPost, tokenPath); n != 1 {
		t.Fatalf("token requests = %d, want 1 while the token is fresh", n)
	}
	clk.Advance(2 * time.Minute) // 4 minutes left: log in again before it lapses
	get()
	if n := sim.Faults.Calls(http.MethodPost, tokenPath); n != 2 {
		t.Errorf("token requests = %d, want 2 after nearing expiry", n)
	}
}

func TestRefusedTokenIsReplacedOnceAfter401(t *testing.T) {
	c, sim := setup(t, crayonsim.Options{}, nil)
	ctx := context.Background()
	if _, err := c.Tenant(ctx, "1001"); err != nil {
		t.Fatal(err)
	}
	// Crayon forgets its tokens: the call logs in again and succeeds.
	sim.ExpireTokens()
	if _, err := c.Tenant(ctx, "1001"); err != nil {
		t.Fatalf("call after the server dropped the token: %v", err)
	}
	if n := sim.Faults.Calls(http.MethodPost, tokenPath); n != 2 {
		t.Errorf("token requests = %d, want 2 (re-login after the 401)", n)
	}
	// A 401 that a fresh token does not cure is reported, after one retry.
	sim.Faults.Set(simfault.Fault{Status: http.StatusUnauthorized, PathContains: "customertenants"})
	_, err := c.Tenant(ctx, "1001")
	_ = wantErr(t, err, upstream.ErrCredentials, 401, "401 Unauthorized", "Invalid token")
	if n := sim.Faults.Calls(http.MethodGet, "/api/v1/customertenants/1001/"); n != 5 {
		t.Errorf("tenant requests = %d, want 5 (3 before, then the 401 and one retry)", n)
	}
}

func TestBadCredentials(t *testing.T) {
	c, sim := setup(t, crayonsim.Options{}, func(cfg *Config) { cfg.Password = "wrong-password" })
	ctx := context.Background()
	_, _, err := c.ListTenants(ctx, TenantFilter{})
	e := wantErr(t, err, upstream.ErrCredentials, 400, "invalid_grant", "")
	if e.Op != "token" {
		t.Errorf("op = %q, want token", e.Op)
	}
	if strings.Contains(err.Error(), "wrong-password") || strings.Contains(err.Error(), crayonsim.DefaultClientSecret) {
		t.Errorf("error %q leaks a credential", err)
	}
	_, _, _ = c.ListTenants(ctx, TenantFilter{})
	if n := sim.Faults.Calls(http.MethodPost, tokenPath); n != 2 {
		t.Errorf("token requests = %d, want 2 (a failed login is not cached)", n)
	}
	if n := sim.Faults.Calls(http.MethodGet, listPath); n != 0 {
		t.Errorf("list requests = %d, want none without a token", n)
	}
}

func TestTenantMapping(t *testing.T) {
	c, _ := setup(t, crayonsim.Options{}, nil)
	ctx := context.Background()
	one := func(search string) model.Tenant {
		t.Helper()
		items, total, err := c.ListTenants(ctx, TenantFilter{Search: search})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 1 || total != 1 {
			t.Fatalf("search %q: %d items, total %d; want exactly one", search, len(items), total)
		}
		return items[0]
	}
	contoso := one("contoso")
	want := model.Tenant{
		ID: "1001", Name: "Contoso AB",
		Publisher: &model.Ref{ID: "2", Name: "Microsoft"}, Program: &model.Ref{ID: "1", Name: "CSP"},
		Organization:      &model.Ref{ID: "4703", Name: crayonsim.OrganizationName},
		MicrosoftTenantID: simseed.Orgs[0].TenantID, PublisherCustomerID: simseed.Orgs[0].TenantID,
		Domain: "contosoab.onmicrosoft.com", DomainPrefix: "contosoab",
		Type: model.TenantTypeT2, Status: model.TenantStatusActive,
	}
	if *contoso.Publisher != *want.Publisher || *contoso.Program != *want.Program || *contoso.Organization != *want.Organization {
		t.Errorf("refs = %+v %+v %+v", contoso.Publisher, contoso.Program, contoso.Organization)
	}
	contoso.Publisher, contoso.Program, contoso.Organization = want.Publisher, want.Program, want.Organization
	if contoso != want {
		t.Errorf("Contoso = %+v\nwant      %+v", contoso, want)
	}

	// Crayon holds no Domain for Fabrikam: it is derived from the prefix.
	if got := one("fabrikam").Domain; got != "fabrikamoy.onmicrosoft.com" {
		t.Errorf("Fabrikam domain = %q", got)
	}
	nw := one("northwind")
	if nw.MicrosoftTenantID != "" || nw.Type != model.TenantTypeT1 || nw.Domain != "northwindas.onmicrosoft.com" {
		t.Errorf("Northwind = %+v; want no tenant id, t1, domain kept", nw)
	}
	if got := one("alpine").Status; got != model.TenantStatusRemoved {
		t.Errorf("Alpine Ski House status = %q, want removed", got)
	}
	byID, err := c.Tenant(ctx, "1001")
	if err != nil || byID.ID != "1001" || byID.MicrosoftTenantID != want.MicrosoftTenantID {
		t.Errorf("Tenant(1001) = %+v, %v", byID, err)
	}
}

func TestFiltersAndPaging(t *testing.T) {
	c, sim := setup(t, crayonsim.Options{}, nil)
	ctx := context.Background()

	all, err := c.AllTenants(ctx, TenantFilter{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, tn := range all {
		seen[tn.ID] = true
	}
	if len(all) != crayonsim.SeedTenantCount || len(seen) != crayonsim.SeedTenantCount {
		t.Errorf("AllTenants = %d tenants (%d distinct), want %d", len(all), len(seen), crayonsim.SeedTenantCount)
	}
	if n := sim.Faults.Calls(http.MethodGet, listPath); n != 2 {
		t.Errorf("list requests = %d, want 2 pages of 100", n)
	}

	items, total, err := c.ListTenants(ctx, TenantFilter{Page: 3, PageSize: 60})
	if err != nil || total != crayonsim.SeedTenantCount || len(items) != 20 || items[0].ID != "1121" {
		t.Errorf("page 3 of 60: %d items from %v, total %d, err %v", len(items), firstID(items), total, err)
	}

	t1, err := c.AllTenants(ctx, TenantFilter{CustomerTenantType: 1, PageSize: 1})
	if err != nil || len(t1) != 2 || t1[0].Name != "Northwind Traders AS" || t1[1].Name != "Wide World Importers" {
		t.Errorf("T1 tenants = %+v, %v", t1, err)
	}

	for _, tc := range []struct {
		f    TenantFilter
		want int64
	}{
		{TenantFilter{DomainPrefix: "examplecustomer04"}, 10},
		{TenantFilter{Search: "EXT-042"}, 1}, // matches Reference
		{TenantFilter{Domain: "contosoab.onmicrosoft.com"}, 1},
		{TenantFilter{PublisherID: 2}, crayonsim.SeedTenantCount},
		{TenantFilter{PublisherID: 3}, 0},
	} {
		if _, total, err := c.ListTenants(ctx, tc.f); err != nil || total != tc.want {
			t.Errorf("filter %+v: total %d, err %v; want %d", tc.f, total, err, tc.want)
		}
	}
}

func firstID(ts []model.Tenant) string {
	if len(ts) == 0 {
		return ""
	}
	return ts[0].ID
}

func TestDocumentedErrors(t *testing.T) {
	c, sim := setup(t, crayonsim.Options{}, nil)
	ctx := context.Background()

	_, err := c.Tenant(ctx, "999999")
	_ = wantErr(t, err, upstream.ErrNotFound, 404, "NO_CONTENT", "Not found")

	before := sim.Faults.TotalCalls()
	_, err = c.Tenant(ctx, "../organizations/1")
	_ = wantErr(t, err, upstream.ErrNotFound, 404, "", "not a Crayon tenant id")
	if sim.Faults.TotalCalls() != before {
		t.Error("a non-numeric tenant id reached Crayon")
	}

	_, _, err = c.ListTenants(ctx, TenantFilter{OrganizationID: 1})
	_ = wantErr(t, err, upstream.ErrCredentials, 403, "403 Forbidden", "organization 1")

	_, _, err = c.ListTenants(ctx, TenantFilter{PageSize: 501})
	_ = wantErr(t, err, upstream.ErrRejected, 400, "400 BadRequest", "PageSize")
}

func TestAgreements(t *testing.T) {
	c, _ := setup(t, crayonsim.Options{}, nil)
	ctx := context.Background()

	got, err := c.Agreements(ctx, "1001")
	if err != nil {
		t.Fatal(err)
	}
	c0 := simseed.Orgs[0].Contact
	seeded := model.Agreement{Type: model.AgreementMicrosoftCustomer, FirstName: c0.First, LastName: c0.Last,
		Email: c0.Email, PhoneNumber: c0.Phone, AgreedAt: time.Date(2024, 3, 1, 9, 30, 0, 0, time.UTC)}
	seeded.ID = model.AgreementID(seeded)
	if len(got) != 1 || got[0] != seeded || len(seeded.ID) != 16 {
		t.Fatalf("seeded agreements = %+v, want [%+v]", got, seeded)
	}

	add := model.Agreement{Type: model.AgreementMicrosoftCloud, FirstName: "Mikko", LastName: "Virtanen",
		Email: "mikko.virtanen@fabrikam.fi", AgreedAt: time.Date(2025, 2, 3, 4, 5, 6, 0, time.FixedZone("EET", 2*3600))}
	stored, err := c.AddAgreement(ctx, "1002", add)
	if err != nil {
		t.Fatal(err)
	}
	// The id is stable: the same whatever zone the consent time came in.
	if !stored.AgreedAt.Equal(add.AgreedAt) || stored.AgreedAt.Location() != time.UTC || stored.Type != add.Type || stored.Email != add.Email ||
		stored.ID != model.AgreementID(add) || stored.ID == seeded.ID {
		t.Errorf("stored = %+v", stored)
	}
	if got, err := c.Agreements(ctx, "1002"); err != nil || len(got) != 1 || got[0] != stored {
		t.Errorf("agreements after add = %+v, %v; want [%+v]", got, err, stored)
	}

	_, err = c.AddAgreement(ctx, "1002", model.Agreement{Type: model.AgreementMicrosoftCustomer, Email: "x@example.com"})
	_ = wantErr(t, err, upstream.ErrRejected, 400, "400 BadRequest", "'First Name' must not be empty.")

	if _, err := c.AddAgreement(ctx, "1002", model.Agreement{Type: "eula"}); err == nil {
		t.Error("an unknown agreement type was accepted")
	}

	_, err = c.Agreements(ctx, "999999")
	_ = wantErr(t, err, upstream.ErrNotFound, 404, "NO_CONTENT", "Not found")
}

func TestInjectedFaults(t *testing.T) {
	c, sim := setup(t, crayonsim.Options{}, nil)
	ctx := context.Background()
	if _, err := c.Tenant(ctx, "1001"); err != nil { // token in hand: faults hit the API call
		t.Fatal(err)
	}

	sim.Faults.Set(simfault.Fault{Status: 500})
	_, err := c.Tenant(ctx, "1001")
	_ = wantErr(t, err, nil, 500, "500 InternalServerError", "Ops. Something broke")

	sim.Faults.Set(simfault.Fault{Status: 503, RetryAfterSeconds: 7})
	_, _, err = c.ListTenants(ctx, TenantFilter{})
	if e := wantErr(t, err, nil, 503, "503 ServiceUnavailable", "Service Unavailable"); e.RetryAfter != 7*time.Second {
		t.Errorf("RetryAfter = %v, want 7s", e.RetryAfter)
	}

	sim.Faults.Set(simfault.Fault{Malformed: true})
	_, err = c.Agreements(ctx, "1001")
	_ = wantErr(t, err, upstream.ErrMalformed, 200, "", "")

	sim.Faults.Set(simfault.Fault{Status: 500, PathContains: "/connect/token"})
	sim.ExpireTokens()
	_, _ = c.Tenant(ctx, "1001") // 401: the token is dropped
	_, err = c.Tenant(ctx, "1001")
	if e := wantErr(t, err, nil, 500, "500 InternalServerError", "Ops"); e.Op != "token" {
		t.Errorf("op = %q, want token", e.Op)
	}
}

// TestNonJSONErrorBody covers a proxy's HTML error page in front of Crayon.
func TestNonJSONErrorBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/connect/token") {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"AccessToken":"t","ExpiresIn":3600,"TokenType":"Bearer"}`))
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>Bad Gateway</html>"))
	}))
	t.Cleanup(srv.Close)
	c, err := New(newUpstream(t), defaultConfig(srv.URL+"/"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Tenant(context.Background(), "1")
	_ = wantErr(t, err, nil, 502, "UNABLE_TO_FORMAT_JSON", "not JSON")
}
