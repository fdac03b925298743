package gdap

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream"
	"github.com/partnerhub/gateway/internal/upstream/gdap/gdapsim"
	"github.com/partnerhub/gateway/internal/upstream/simfault"
	"github.com/partnerhub/gateway/internal/upstream/simseed"
)

const testScope = "api://gdap-sim/.default"

// seen is one request as the simulator received it.
type seen struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
	Body         string
}

// recorder sits in front of the simulator and keeps what arrived on the wire.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	reqs []seen
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, seen{r.Method, r.URL.Path, r.URL.Query(), r.Header.Clone(), string(body)})
	rec.mu.Unlock()
	rec.next.ServeHTTP(w, r)
}

func (rec *recorder) requests(path string) []seen {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []seen
	for _, s := range rec.reqs {
		if s.Path == path {
			out = append(out, s)
		}
	}
	return out
}

func start(t *testing.T, opts gdapsim.Options) (*gdapsim.Server, *recorder, string) {
	t.Helper()
	sim := gdapsim.New(opts)
	rec := &recorder{next: sim}
	ts := httptest.NewServer(rec)
	t.Cleanup(ts.Close)
	return sim, rec, ts.URL + gdapsim.BasePath
}

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	metrics, err := upstream.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	up, err := upstream.New(upstream.Config{Vendor: model.VendorGDAP, Timeout: 2 * time.Second}, metrics, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(up, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func staticConfig(base string) Config {
	return Config{BaseURL: base, PartnerID: simseed.PartnerTenantID, Token: gdapsim.DefaultToken}
}

func credsConfig(base string) Config {
	return Config{
		BaseURL: base, PartnerID: simseed.PartnerTenantID, TokenURL: gdapsim.TokenURL(base),
		ClientID: gdapsim.DefaultClientID, ClientSecret: gdapsim.DefaultClientSecret, Scope: testScope,
	}
}

func upstreamError(t *testing.T, err error) *upstream.Error {
	t.Helper()
	var e *upstream.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *upstream.Error", err, err)
	}
	if e.Vendor != model.VendorGDAP {
		t.Errorf("Vendor = %q, want %q", e.Vendor, model.VendorGDAP)
	}
	return e
}

func seededCustomers() []model.GDAPCustomer {
	var want []model.GDAPCustomer
	for _, o := range simseed.Orgs {
		if o.InGDAP {
			want = append(want, model.GDAPCustomer{
				MicrosoftTenantID: o.TenantID, PartnerTenantID: simseed.PartnerTenantID,
				CompanyName: o.Name, Domain: o.Domain(),
				PrimaryContact: &model.Contact{FirstName: o.Contact.First, LastName: o.Contact.Last, Email: o.Contact.Email},
			})
		}
	}
	return want
}

func TestListCustomersSendsDocumentedRequest(t *testing.T) {
	_, rec, base := start(t, gdapsim.Options{})
	// Upper case in config must not leak onto the wire or into records.
	cfg := staticConfig(base)
	cfg.PartnerID = strings.ToUpper(simseed.PartnerTenantID)
	c := newClient(t, cfg)

	got, err := c.ListCustomers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := seededCustomers(); !reflect.DeepEqual(got, want) {
		t.Errorf("customers:\n got %+v\nwant %+v", got, want)
	}
	reqs := rec.requests("/api/Customers")
	if len(reqs) != 1 {
		t.Fatalf("GET /api/Customers arrived %d times, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodGet || r.Header.Get("Authorization") != "Bearer "+gdapsim.DefaultToken ||
		r.Header.Get("Accept") != "application/json" || r.Query.Get("providerId") != simseed.PartnerTenantID || len(r.Query) != 1 {
		t.Errorf("request = %s %v %v, want GET with bearer, Accept json and providerId only", r.Method, r.Query, r.Header)
	}
}

func TestClientCredentialsGrantAndTokenReuse(t *testing.T) {
	sim, rec, base := start(t, gdapsim.Options{})
	c := newClient(t, credsConfig(base))
	ctx := context.Background()

	for range 3 {
		if _, err := c.ListCustomers(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.AvailableRoles(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SynchronizePartnerCustomers(ctx, "ops@example.com"); err != nil {
		t.Fatal(err)
	}
	if n := sim.Faults.Calls(http.MethodPost, gdapsim.TokenPath); n != 1 {
		t.Errorf("token requests = %d, want 1 reused for 5 calls", n)
	}

	tr := rec.requests(gdapsim.TokenPath)[0]
	form, err := url.ParseQuery(tr.Body)
	if err != nil {
		t.Fatal(err)
	}
	wantForm := url.Values{"grant_type": {"client_credentials"}, "client_id": {gdapsim.DefaultClientID},
		"client_secret": {gdapsim.DefaultClientSecret}, "scope": {testScope}}
	if !reflect.DeepEqual(form, wantForm) || tr.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("token request: form %v content type %q", form, tr.Header.Get("Content-Type"))
	}
	if tr.Header.Get("Authorization") != "" {
		t.Error("token request must not carry a bearer token")
	}

	auth := rec.requests("/api/Customers")[0].Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer gdapsim.") {
		t.Fatalf("API call Authorization = %q, want the issued token", auth)
	}
	for _, p := range []string{"/api/Customers", "/api/GetAvailableRoles", "/api/SynchronizePartnerCustomers"} {
		for _, r := range rec.requests(p) {
			if got := r.Header.Get("Authorization"); got != auth {
				t.Errorf("%s Authorization = %q, want the same token %q", p, got, auth)
			}
		}
	}
}

func TestConcurrentCallsFetchOneToken(t *testing.T) {
	sim, _, base := start(t, gdapsim.Options{})
	c := newClient(t, credsConfig(base))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			if _, err := c.AvailableRoles(context.Background()); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := sim.Faults.Calls(http.MethodPost, gdapsim.TokenPath); n != 1 {
		t.Errorf("token requests = %d, want 1 for 16 concurrent calls", n)
	}
}

func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	sim, _, base := start(t, gdapsim.Options{TokenTTL: 100 * time.Second})
	c := newClient(t, credsConfig(base))
	now := time.Now()
	c.now = func() time.Time { return now }
	ctx := context.Background()
	tokenCalls := func() int { return sim.Faults.Calls(http.MethodPost, gdapsim.TokenPath) }

	if _, err := c.AvailableRoles(ctx); err != nil {
		t.Fatal(err)
	}
	now = now.Add(85 * time.Second)
	if _, err := c.AvailableRoles(ctx); err != nil {
		t.Fatal(err)
	}
	if n := tokenCalls(); n != 1 {
		t.Fatalf("token requests after 85 s of a 100 s token = %d, want 1", n)
	}
	now = now.Add(10 * time.Second) // inside the last 10 %: refresh early
	if _, err := c.AvailableRoles(ctx); err != nil {
		t.Fatal(err)
	}
	if n := tokenCalls(); n != 2 {
		t.Errorf("token requests after 95 s = %d, want 2", n)
	}
}

func TestUnauthorizedGetsOneRetryWithAFreshToken(t *testing.T) {
	sim, _, base := start(t, gdapsim.Options{})
	c := newClient(t, credsConfig(base))
	ctx := context.Background()
	if _, err := c.ListCustomers(ctx); err != nil {
		t.Fatal(err)
	}
	sim.RevokeTokens()
	if _, err := c.ListCustomers(ctx); err != nil {
		t.Fatalf("the call should re-authenticate and succeed: %v", err)
	}
	if n := sim.Faults.Calls(http.MethodPost, gdapsim.TokenPath); n != 2 {
		t.Errorf("token requests = %d, want 2", n)
	}
	// A 401 that a fresh token does not cure (body null) is reported after
	// one retry, and is not taken for a missing route.
	sim.Faults.Set(simfault.Fault{Status: http.StatusUnauthorized, PathContains: "Customers"})
	before := sim.Faults.Calls(http.MethodGet, "/api/Customers")
	_, err := c.ListCustomers(ctx)
	e := upstreamError(t, err)
	if !errors.Is(err, upstream.ErrCredentials) || e.Status != http.StatusUnauthorized || e.Message != "" || e.Op != "list_customers" {
		t.Errorf("persistent 401: %#v, want 401 ErrCredentials with no message (body null)", e)
	}
	if n := sim.Faults.Calls(http.MethodGet, "/api/Customers") - before; n != 2 {
		t.Errorf("Customers requests = %d, want 2 (one retry)", n)
	}
	if n := sim.Faults.Calls(http.MethodGet, "/api/ListCustomers"); n != 0 {
		t.Errorf("ListCustomers fallback tried %d times on a 401", n)
	}
}

func TestRejectedCredentials(t *testing.T) {
	_, _, base := start(t, gdapsim.Options{})
	otherPartner := staticConfig(base)
	otherPartner.PartnerID = "11111111-2222-4333-8444-555555555555"
	wrongToken := staticConfig(base)
	wrongToken.Token = "not-the-token"
	wrongSecret := credsConfig(base)
	wrongSecret.ClientSecret = "wrong"
	unknownApp := credsConfig(base)
	unknownApp.ClientID = "99999999-0000-4000-8000-000000000000"
	badScope := credsConfig(base)
	badScope.Scope = "api://gdap-sim"

	for _, tc := range []struct {
		name     string
		cfg      Config
		op, code string
		status   int
	}{
		{"wrong static token", wrongToken, "available_roles", "", 401},
		{"token of another partner", otherPartner, "available_roles", "", 401},
		{"wrong client secret", wrongSecret, "token", "invalid_client", 401},
		{"unknown client id", unknownApp, "token", "unauthorized_client", 400},
		{"scope without /.default", badScope, "token", "invalid_scope", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newClient(t, tc.cfg).AvailableRoles(context.Background())
			e := upstreamError(t, err)
			if !errors.Is(err, upstream.ErrCredentials) || e.Op != tc.op || e.Status != tc.status || e.Code != tc.code {
				t.Errorf("got %#v, want ErrCredentials op %s status %d code %q", e, tc.op, tc.status, tc.code)
			}
			if tc.code != "" && (!strings.HasPrefix(e.Message, "AADSTS") || strings.Contains(e.Message, "Trace ID")) {
				t.Errorf("Message = %q, want Entra's first description line", e.Message)
			}
			for _, secret := range []string{tc.cfg.ClientSecret, tc.cfg.Token} {
				if secret != "" && strings.Contains(err.Error(), secret) {
					t.Error("error text contains a credential")
				}
			}
		})
	}
}

func TestCustomersRouteFallback(t *testing.T) {
	sim, _, base := start(t, gdapsim.Options{DisableCustomersRoute: true})
	c := newClient(t, staticConfig(base))
	ctx := context.Background()
	for range 2 {
		got, err := c.ListCustomers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(seededCustomers()) {
			t.Errorf("got %d customers, want %d", len(got), len(seededCustomers()))
		}
	}
	// The 404 is paid once; the working route is remembered.
	if a, b := sim.Faults.Calls(http.MethodGet, "/api/Customers"), sim.Faults.Calls(http.MethodGet, "/api/ListCustomers"); a != 1 || b != 2 {
		t.Errorf("calls Customers=%d ListCustomers=%d, want 1 and 2", a, b)
	}

	// When neither route exists the 404 surfaces without a not-found
	// sentinel: it is a deployment mismatch, not a missing record.
	sim.Faults.Set(simfault.Fault{Status: http.StatusNotFound})
	_, err := newClient(t, staticConfig(base)).ListCustomers(ctx)
	e := upstreamError(t, err)
	if e.Status != http.StatusNotFound || e.Err != nil {
		t.Errorf("got %#v, want plain 404", e)
	}
}

func TestAvailableRoles(t *testing.T) {
	_, rec, base := start(t, gdapsim.Options{})
	got, err := newClient(t, staticConfig(base)).AvailableRoles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var want []model.Role
	for _, r := range simseed.GDAPRoles {
		want = append(want, model.Role{ID: r.ID, Name: r.Name, Description: r.Description})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("roles:\n got %+v\nwant %+v", got, want)
	}
	r := rec.requests("/api/GetAvailableRoles")[0]
	if r.Method != http.MethodGet || r.Query.Get("partnerId") != simseed.PartnerTenantID || len(r.Query) != 1 {
		t.Errorf("request %s %v, want GET with partnerId only", r.Method, r.Query)
	}
}

func TestSynchronizePartnerCustomers(t *testing.T) {
	sim, rec, base := start(t, gdapsim.Options{})
	c := newClient(t, staticConfig(base))
	before := time.Now()
	msg, err := c.SynchronizePartnerCustomers(context.Background(), " ops+gdap@example.com ")
	if err != nil {
		t.Fatal(err)
	}
	if msg != "Your customers will be synchronized now." {
		t.Errorf("message = %q", msg)
	}
	syncs := sim.SyncRequests()
	if len(syncs) != 1 || syncs[0].PartnerID != simseed.PartnerTenantID || syncs[0].Email != "ops+gdap@example.com" || syncs[0].At.Before(before) {
		t.Errorf("simulator recorded %+v", syncs)
	}
	r := rec.requests("/api/SynchronizePartnerCustomers")[0]
	if r.Method != http.MethodPost || r.Body != "" || r.Header.Get("Authorization") != "Bearer "+gdapsim.DefaultToken ||
		r.Header.Get("Accept") != "application/json" || len(r.Query) != 2 {
		t.Errorf("request %s %v body %q, want POST with partnerId and email, no body", r.Method, r.Query, r.Body)
	}
}

func TestSyncRejectsInvalidEmailWithoutCalling(t *testing.T) {
	sim, _, base := start(t, gdapsim.Options{})
	c := newClient(t, staticConfig(base))
	for _, email := range []string{"", "not-an-email", "Ops <ops@example.com>", "a@example.com, b@example.com"} {
		if _, err := c.SynchronizePartnerCustomers(context.Background(), email); !errors.Is(err, ErrInvalidEmail) {
			t.Errorf("email %q: err = %v, want ErrInvalidEmail", email, err)
		}
	}
	if n := sim.Faults.TotalCalls(); n != 0 {
		t.Errorf("%d requests reached the vendor", n)
	}
}

func TestInjectedFaults(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fault      simfault.Fault
		creds      bool
		op         string
		status     int
		sentinel   error
		retryAfter time.Duration
	}{
		{"500 empty body", simfault.Fault{Status: 500}, false, "available_roles", 500, nil, 0},
		{"503 with Retry-After", simfault.Fault{Status: 503, RetryAfterSeconds: 7}, false, "available_roles", 503, nil, 7 * time.Second},
		{"429", simfault.Fault{Status: 429, RetryAfterSeconds: 2}, false, "available_roles", 429, nil, 2 * time.Second},
		{"401 null", simfault.Fault{Status: 401}, false, "available_roles", 401, upstream.ErrCredentials, 0},
		{"400 empty body", simfault.Fault{Status: 400}, false, "available_roles", 400, upstream.ErrRejected, 0},
		{"malformed body", simfault.Fault{Malformed: true}, false, "available_roles", 200, upstream.ErrMalformed, 0},
		{"token endpoint 500", simfault.Fault{Status: 500, PathContains: "oauth2"}, true, "token", 500, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, _, base := start(t, gdapsim.Options{})
			sim.Faults.Set(tc.fault)
			cfg := staticConfig(base)
			if tc.creds {
				cfg = credsConfig(base)
			}
			_, err := newClient(t, cfg).AvailableRoles(context.Background())
			e := upstreamError(t, err)
			if e.Op != tc.op || e.Status != tc.status || e.RetryAfter != tc.retryAfter || e.Message != "" {
				t.Errorf("got %#v, want op %s status %d retry %v, empty message", e, tc.op, tc.status, tc.retryAfter)
			}
			if tc.sentinel == nil && e.Err != nil || tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("Err = %v, want %v", e.Err, tc.sentinel)
			}
		})
	}
}

func TestDecodeCustomersNormalizes(t *testing.T) {
	// The contract's example, with the casing a real table may hold.
	body := `{"CurrentEntitiesSynced":[
	  {"TenantDomain":"QA2Domain.OnMicrosoft.com","CompanyName":"QA2 reseller","PrimaryContact":"someone@example.com",
	   "FirstName":"Prim","LastName":"Fernando","PartitionKey":"918C6A1A-339C-43EC-A8EA-E0343EEA7E0B",
	   "RowKey":"06E8CF15-610A-4E63-B1AD-49BB7B9356CC","Timestamp":null,"ETag":{}},
	  {"TenantDomain":"new.onmicrosoft.com","CompanyName":"Still syncing","PrimaryContact":"","FirstName":null,
	   "PartitionKey":"918c6a1a-339c-43ec-a8ea-e0343eea7e0b","RowKey":"aaaaaaaa-0000-4000-8000-000000000001","Timestamp":null,"ETag":{}}]}`
	got, err := decodeCustomers(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []model.GDAPCustomer{
		{MicrosoftTenantID: "06e8cf15-610a-4e63-b1ad-49bb7b9356cc", PartnerTenantID: simseed.PartnerTenantID,
			CompanyName: "QA2 reseller", Domain: "qa2domain.onmicrosoft.com",
			PrimaryContact: &model.Contact{FirstName: "Prim", LastName: "Fernando", Email: "someone@example.com"}},
		{MicrosoftTenantID: "aaaaaaaa-0000-4000-8000-000000000001", PartnerTenantID: simseed.PartnerTenantID,
			CompanyName: "Still syncing", Domain: "new.onmicrosoft.com"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if got, err := decodeCustomers(strings.NewReader(`{"CurrentEntitiesSynced":[]}`)); err != nil || len(got) != 0 {
		t.Errorf("empty list: %v, %v", got, err)
	}
	for _, bad := range []string{`null`, `{}`, `{"CurrentEntitiesSynced":{}}`, `{"CurrentEntitiesSynced":[{"CompanyName":"no key"}]}`} {
		if _, err := decodeCustomers(strings.NewReader(bad)); !errors.Is(err, upstream.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestDecodeAccepted(t *testing.T) {
	for _, tc := range []struct {
		body, msg, code string
		err             error
	}{
		{`{"Result":"Accepted","Message":"Your customers will be synchronized now."}`, "Your customers will be synchronized now.", "", nil},
		{`{"Result":"Accepted","Message":["Access Role Id Assigned Successfully: a","Access Role Id Assigned Successfully: b"]}`,
			"Access Role Id Assigned Successfully: a; Access Role Id Assigned Successfully: b", "", nil},
		{`{"Result":"Rejected","Message":["Partner not onboarded"]}`, "Partner not onboarded", "Rejected", upstream.ErrRejected},
		{`{"Result":"Failed","Message":null}`, "", "Failed", upstream.ErrRejected},
		{`null`, "", "", upstream.ErrMalformed},
		{`{"Message":"no result"}`, "", "", upstream.ErrMalformed},
	} {
		msg, err := decodeAccepted(strings.NewReader(tc.body))
		if tc.err == nil {
			if err != nil || msg != tc.msg {
				t.Errorf("%s: got %q, %v; want %q", tc.body, msg, err, tc.msg)
			}
			continue
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: err = %v, want %v", tc.body, err, tc.err)
			continue
		}
		var e *upstream.Error
		if tc.err == upstream.ErrRejected && (!errors.As(err, &e) || e.Code != tc.code || e.Message != tc.msg) {
			t.Errorf("%s: got %#v, want code %q message %q", tc.body, e, tc.code, tc.msg)
		}
	}
}

func TestBodyMessage(t *testing.T) {
	long := strings.Repeat("é", 400)
	for in, want := range map[string]string{
		``:                                 "",
		`null`:                             "",
		` null `:                           "",
		`"Please pass a partnerId"`:        "Please pass a partnerId",
		`<html>Service Unavailable</html>`: "<html>Service Unavailable</html>",
		long:                               long[:512] + "…",
	} {
		if got := bodyMessage([]byte(in)); got != want {
			t.Errorf("bodyMessage(%.20q) = %.40q, want %.40q", in, got, want)
		}
	}
}

func TestNewValidation(t *testing.T) {
	metrics, _ := upstream.NewMetrics(prometheus.NewRegistry())
	up, _ := upstream.New(upstream.Config{Vendor: model.VendorGDAP, Timeout: time.Second}, metrics, nil)
	good := Config{BaseURL: "https://dev-gdap.azurewebsites.net/api/", PartnerID: simseed.PartnerTenantID, Token: "t"}
	if _, err := New(up, good); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	for _, tc := range []struct {
		name  string
		cfg   Config
		wants []string
	}{
		{"everything missing", Config{}, []string{"BaseURL", "PartnerID", "token or client credentials"}},
		{"no trailing slash", Config{BaseURL: "https://x.example/api", PartnerID: good.PartnerID, Token: "t"}, []string{"end with /"}},
		{"relative base", Config{BaseURL: "/api/", PartnerID: good.PartnerID, Token: "t"}, []string{"absolute http(s)"}},
		{"both auth kinds", Config{BaseURL: good.BaseURL, PartnerID: good.PartnerID, Token: "t", ClientID: "c"}, []string{"not both"}},
		{"partial credentials", Config{BaseURL: good.BaseURL, PartnerID: good.PartnerID, ClientID: "c"},
			[]string{"TokenURL", "ClientSecret is required", "Scope is required"}},
		{"bad route", Config{BaseURL: good.BaseURL, PartnerID: "not-a-guid", Token: "t", CustomersRoute: "a/b"},
			[]string{"PartnerID", "single path segment"}},
	} {
		_, err := New(up, tc.cfg)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		for _, w := range tc.wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not mention %q", tc.name, err, w)
			}
		}
	}
}
