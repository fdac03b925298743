package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/auth"
	"github.com/partnerhub/gateway/internal/config"
	"github.com/partnerhub/gateway/internal/devoidc"
	"github.com/partnerhub/gateway/internal/middleware"
	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/pagetoken"
	"github.com/partnerhub/gateway/internal/problem"
	"github.com/partnerhub/gateway/internal/store"
	"github.com/partnerhub/gateway/internal/syncjobs"
	"github.com/partnerhub/gateway/internal/upstream"
	"github.com/partnerhub/gateway/internal/upstream/gdap"
)

// The route tables run the whole router (authentication, permissions,
// method rules, path rules, handlers, error mapping) over stub vendors and
// stores: every route's answers to good and bad input, in milliseconds.

const (
	testTenantID  = "00000000-0000-4000-8000-000000000001"
	testJobID     = "11111111-1111-4111-8111-111111111111"
	otherTenantID = "00000000-0000-4000-8000-000000000002"
)

// stubs are the dependencies; fail makes the named stub return its error.
type stubs struct {
	mu     sync.Mutex
	fail   map[string]error
	audits []store.AuditEvent
	calls  []string
	// The last list filters the stores were asked for.
	syncFilter  store.SyncJobFilter
	auditFilter store.AuditFilter
}

func (s *stubs) call(op string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, op)
	return s.fail[op]
}

func (s *stubs) called(op string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.calls, op)
}

func notFound(vendor string) error {
	return &upstream.Error{Vendor: vendor, Op: "get", Status: http.StatusNotFound, Err: upstream.ErrNotFound}
}

func unavailable(vendor string) error {
	return &upstream.Error{Vendor: vendor, Op: "call", Err: upstream.ErrUnavailable, RetryAfter: 7 * time.Second}
}

func tooMany(vendor string) error {
	return &upstream.Error{Vendor: vendor, Op: "call", Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second}
}

// AgreementStore, LicenseManager, SyncJobs, Onboarding, TemplateGDAP, AuditStore.

// The agreement stubs answer as the Crayon client does: each agreement
// with the id it derives (model.AgreementID).
func (s *stubs) Agreements(_ context.Context, id string) ([]model.Agreement, error) {
	a := model.Agreement{Type: model.AgreementMicrosoftCustomer, FirstName: "Ada", Email: "ada@example.com"}
	a.ID = model.AgreementID(a)
	return []model.Agreement{a}, s.call("agreements")
}

func (s *stubs) AddAgreement(_ context.Context, id string, a model.Agreement) (model.Agreement, error) {
	a.ID = model.AgreementID(a)
	return a, s.call("agreements.add")
}

// licenseIDs are the DBSync user ids the licence stub knows; other users
// come back without one.
var licenseIDs = map[string]string{"ada": "5773", "bob": "5774"}

func (s *stubs) Register(_ context.Context, c, u string) (model.License, error) {
	return model.License{ID: licenseIDs[u], UserID: licenseIDs[u], Company: c, User: u}, s.call("licenses.register")
}

func (s *stubs) Unregister(_ context.Context, c, u string) (model.License, error) {
	return model.License{Company: c, User: u}, s.call("licenses.unregister")
}

func (s *stubs) Check(_ context.Context, c, u string) (model.LicenseCheck, error) {
	return model.LicenseCheck{Company: c, User: u, Licensed: true}, s.call("licenses.check")
}

func (s *stubs) List(_ context.Context, c string) ([]model.License, *LicenseQuota, error) {
	return []model.License{{ID: "5773", UserID: "5773", Company: "acme", User: "ada"}, {ID: "5774", UserID: "5774", Company: "acme", User: "bob"}}, nil, s.call("licenses.list")
}

func testJob(kind string) store.SyncJob {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return store.SyncJob{ID: testJobID, Seq: 7, Kind: kind, State: model.SyncRunning, CreatedAt: now, UpdatedAt: now}
}

type syncStub struct{ *stubs }

func (s syncStub) Validate(req syncjobs.StartRequest) error {
	if req.Kind != syncjobs.Kinds[0] && req.Kind != syncjobs.Kinds[len(syncjobs.Kinds)-1] {
		return &syncjobs.ValidationError{Fields: []syncjobs.FieldError{{Field: "kind", Code: problem.CodeInvalidChoice, Message: "is not a kind"}}}
	}
	return nil
}

func (s syncStub) Start(ctx context.Context, req syncjobs.StartRequest) (syncjobs.Result, error) {
	if err := s.Validate(req); err != nil {
		return syncjobs.Result{}, err
	}
	if err := s.call("syncs.start"); err != nil {
		return syncjobs.Result{}, err
	}
	return syncjobs.Result{Job: testJob(req.Kind), Sources: okSources, Complete: true}, nil
}

func (s syncStub) Get(_ context.Context, id string) (syncjobs.Result, error) {
	return syncjobs.Result{Job: testJob(syncjobs.Kinds[0]), Sources: okSources, Complete: true}, s.call("syncs.get")
}

func (s syncStub) List(_ context.Context, f store.SyncJobFilter) (syncjobs.Page, error) {
	s.mu.Lock()
	s.syncFilter = f
	s.mu.Unlock()
	return syncjobs.Page{Items: []store.SyncJob{testJob(syncjobs.Kinds[0])}, More: true, Total: 4, Sources: okSources, Complete: true}, s.call("syncs.list")
}

type onboardStub struct{ *stubs }

func (s onboardStub) Validate(req syncjobs.OnboardingRequest) error {
	if req.CustomerTenantID == "" {
		return &syncjobs.ValidationError{Fields: []syncjobs.FieldError{{Field: "customer_tenant_id", Code: problem.CodeRequired, Message: "is required"}}}
	}
	return nil
}

func (s onboardStub) Start(_ context.Context, req syncjobs.OnboardingRequest) (syncjobs.OnboardingResult, error) {
	if err := s.Validate(req); err != nil {
		return syncjobs.OnboardingResult{}, err
	}
	if err := s.call("onboard.start"); err != nil {
		return syncjobs.OnboardingResult{}, err
	}
	return syncjobs.OnboardingResult{Onboarding: syncjobs.Onboarding{Job: testJob("gdap_onboarding")}, Complete: true}, nil
}

func (s onboardStub) Get(context.Context, string) (syncjobs.Onboarding, error) {
	return syncjobs.Onboarding{Job: testJob("gdap_onboarding")}, s.call("onboard.get")
}

type gdapStub struct{ *stubs }

func (s gdapStub) AvailableRoles(context.Context) ([]model.Role, error) {
	return []model.Role{{ID: "62e90394-69f5-4237-9190-012177145e10", Name: "Global Administrator"}}, s.call("roles")
}

func (s gdapStub) PublishTemplate(context.Context, gdap.TemplateRequest) (gdap.TemplateResult, error) {
	return gdap.TemplateResult{TemplateID: testJobID}, s.call("gdap.publish")
}

func (s gdapStub) CreateSecurityGroups(context.Context, string, string) (gdap.SecurityGroupsResult, error) {
	return gdap.SecurityGroupsResult{}, s.call("gdap.groups")
}

func (s gdapStub) MigrateCustomer(context.Context, string, string, string) (gdap.MigrationResult, error) {
	return gdap.MigrationResult{}, errors.New("not used")
}

func (s gdapStub) ExpressTransition(context.Context, gdap.ExpressRequest) (gdap.MigrationResult, error) {
	return gdap.MigrationResult{}, errors.New("not used")
}

type auditStub struct{ *stubs }

func (s auditStub) AppendAudit(_ context.Context, e store.AuditEvent) error {
	if err := s.call("audit.append"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.audits = append(s.audits, e)
	return nil
}

func (s auditStub) FinishAudit(context.Context, string, string, int, string) error { return nil }

func (s auditStub) ListAudit(_ context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	if err := s.call("audit.list"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.auditFilter = f
	s.mu.Unlock()
	out := []store.AuditEvent{{ID: "a1", Seq: 1, Operation: opRegisterLicense}, {ID: "a2", Seq: 2, Operation: opRegisterLicense}}
	return out[:min(len(out), f.Limit)], nil
}

func (s auditStub) CountAudit(context.Context, store.AuditFilter) (int, error) {
	return 2, s.call("audit.count")
}

// testServer is NewServer over the stubs, with a dev issuer's tokens.
type testServer struct {
	h      http.Handler
	s      *stubs
	issuer *devoidc.Issuer
}

const testAudience = "partnerhub-gateway"

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	var issuer *devoidc.Issuer
	isrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { issuer.ServeHTTP(w, r) }))
	t.Cleanup(isrv.Close)
	var err error
	if issuer, err = devoidc.New(isrv.URL, testAudience, "roles", devoidc.DevClients); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	v, err := auth.NewVerifier(ctx, auth.Config{Issuer: isrv.URL, Audience: testAudience, RolesClaim: "roles", Permissions: config.DefaultPermissions()})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := middleware.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	s := &stubs{fail: map[string]error{}}
	gdapCustomers := aggregate.Live(func(context.Context) ([]model.GDAPCustomer, error) {
		return []model.GDAPCustomer{{MicrosoftTenantID: testTenantID, CompanyName: "Contoso"}}, s.call("gdap.customers")
	})
	tenant := model.Tenant{ID: "42", Name: "Contoso"}
	// Tenant 43 is merged into GDAP's Contoso: crayon-43 is an alias of ms-<testTenantID>.
	alias := model.Tenant{ID: "43", Name: "Contoso", MicrosoftTenantID: testTenantID, Status: model.TenantStatusActive}
	crayonTenants := aggregate.Live(func(context.Context) ([]model.Tenant, error) {
		return []model.Tenant{tenant, alias}, s.call("crayon.tenants")
	})
	none := aggregate.Live(func(context.Context) ([]model.CustomerRecord, error) { return nil, nil })
	d := Deps{
		Log: slog.New(slog.DiscardHandler), Verifier: v, Metrics: m, Gatherer: reg,
		Customers: aggregate.NewCustomers(
			aggregate.CustomerSource{Vendor: model.VendorGDAP, List: aggregate.Live(func(context.Context) ([]model.CustomerRecord, error) {
				return []model.CustomerRecord{
					{Vendor: model.VendorGDAP, VendorID: testTenantID, Name: "Contoso", MicrosoftTenantID: testTenantID},
					{Vendor: model.VendorGDAP, VendorID: otherTenantID, Name: "Fabrikam", MicrosoftTenantID: otherTenantID},
				}, s.call("customers.gdap")
			})},
			aggregate.CustomerSource{Vendor: model.VendorCrayon, List: aggregate.Live(func(context.Context) ([]model.CustomerRecord, error) {
				return nil, s.call("customers.crayon")
			})},
			aggregate.CustomerSource{Vendor: model.VendorBokaMera, List: none}),
		Tenants: aggregate.NewTenants(aggregate.TenantBackend{
			List: aggregate.LiveBy(func(context.Context, aggregate.TenantQuery) (aggregate.TenantListing, error) {
				return aggregate.TenantListing{Items: []model.Tenant{tenant}, Total: 3}, s.call("tenants.list")
			}),
			Get:           aggregate.LiveBy(func(context.Context, string) (model.Tenant, error) { return tenant, s.call("tenants.get") }),
			GDAPCustomers: gdapCustomers,
		}),
		Agreements:     s,
		Licenses:       s,
		Roles:          gdapStub{s}.AvailableRoles,
		SyncJobs:       syncStub{s},
		Audit:          auditStub{s},
		PageTokens:     pagetoken.New(nil),
		Ready:          func() bool { return s.call("ready") == nil },
		RequestTimeout: 5 * time.Second,
		CustomerViews: aggregate.NewCustomerViews(aggregate.CustomerViewBackend{
			GDAPCustomers: gdapCustomers, CrayonTenants: crayonTenants,
			CrayonTenant: aggregate.LiveBy(func(_ context.Context, id string) (model.Tenant, error) {
				if id == alias.ID {
					return alias, nil
				}
				return tenant, nil
			}),
			Agreements: s.Agreements,
			Licenses:   func(context.Context, string) ([]model.License, error) { return nil, nil },
			BookingCustomer: aggregate.LiveBy(func(context.Context, string) (model.BookingCustomer, error) {
				return model.BookingCustomer{}, notFound(model.VendorBokaMera)
			}),
			SearchBookings: aggregate.LiveBy(func(context.Context, string) ([]model.BookingCustomer, error) { return nil, nil }),
			Extra: aggregate.ExtraBackend{
				Subscriptions: func(context.Context, string) ([]model.Subscription, error) { return nil, nil },
				Relationships: aggregate.Live(func(context.Context) ([]model.GDAPRelationship, error) {
					return nil, aggregate.ErrNoRelationshipListing
				}),
			},
		}),
		Subscriptions: aggregate.NewSubscriptions(aggregate.SubscriptionBackend{
			List: func(context.Context, aggregate.SubscriptionFilter) ([]model.Subscription, int64, error) {
				return []model.Subscription{{ID: "9", Name: "Office"}}, 5, s.call("subscriptions.list")
			},
			Get: func(context.Context, string) (model.Subscription, error) {
				return model.Subscription{ID: "9"}, s.call("subscriptions.get")
			},
			CrayonTenants: crayonTenants,
			GDAPCustomers: gdapCustomers,
		}),
		GDAPTemplates: gdapStub{s},
		Onboarding:    onboardStub{s},
	}
	return &testServer{h: NewServer(d), s: s, issuer: issuer}
}

// routeCase is one request and what its answer must show.
type routeCase struct {
	name    string
	method  string
	path    string
	client  string // dev client whose token is sent; "" sends none
	body    string
	header  map[string]string
	fail    map[string]error // stub failures
	status  int
	problem string            // problem type slug; "" for a success
	headers map[string]string // header values expected (prefix match)
	errors  []string          // errors[].location, in order
	codes   []string          // errors[].code, in order; nil: not checked
	check   func(t *testing.T, body map[string]any, s *stubs)
}

func (ts *testServer) run(t *testing.T, c routeCase) {
	t.Helper()
	ts.s.mu.Lock()
	ts.s.fail, ts.s.calls = c.fail, nil
	ts.s.mu.Unlock()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req := httptest.NewRequest(c.method, c.path, body)
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.client != "" {
		tok, err := ts.issuer.Token(c.client, time.Hour)
		if c.client == "guest" { // a valid token whose role grants nothing
			tok, err = ts.issuer.Sign(map[string]any{"iss": ts.issuer.URL(), "aud": testAudience, "sub": "guest",
				"exp": time.Now().Add(time.Hour).Unix(), "roles": []string{"guest"}})
		}
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	ts.h.ServeHTTP(rec, req)
	raw := rec.Body.Bytes()
	if rec.Code != c.status {
		t.Fatalf("status %d, want %d: %s", rec.Code, c.status, raw)
	}
	for k, want := range c.headers {
		if got := rec.Header().Get(k); !strings.HasPrefix(got, want) || (want == "" && got != "") {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	var got map[string]any
	if strings.Contains(rec.Header().Get("Content-Type"), "json") && len(raw) > 0 {
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("body is not a JSON object: %v: %s", err, raw)
		}
	}
	if c.problem != "" {
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("Content-Type %q", ct)
		}
		if got["type"] != problem.TypeBase+c.problem {
			t.Errorf("type %v, want %s", got["type"], c.problem)
		}
		var locs, codes []string
		if es, ok := got["errors"].([]any); ok {
			for _, e := range es {
				locs = append(locs, e.(map[string]any)["location"].(string))
				code, _ := e.(map[string]any)["code"].(string)
				codes = append(codes, code)
			}
		}
		if !slices.Equal(locs, c.errors) {
			t.Errorf("errors at %v, want %v", locs, c.errors)
		}
		if c.codes != nil && !slices.Equal(codes, c.codes) {
			t.Errorf("error codes %v, want %v", codes, c.codes)
		}
	} else if c.status < 300 && c.status != http.StatusNoContent && c.method != http.MethodHead {
		if _, ok := got["problem"]; ok || got["type"] != nil && strings.HasPrefix(got["type"].(string), problem.TypeBase) {
			t.Errorf("success answered a problem: %s", raw)
		}
	}
	if c.check != nil {
		c.check(t, got, ts.s)
	}
}

func runTable(t *testing.T, cases []routeCase) {
	ts := newTestServer(t)
	for _, c := range cases {
		t.Run(c.method+" "+c.path+" "+c.name, func(t *testing.T) { ts.run(t, c) })
	}
}

// listed checks a list answer's envelope.
func listed(n int, complete bool) func(*testing.T, map[string]any, *stubs) {
	return func(t *testing.T, b map[string]any, _ *stubs) {
		t.Helper()
		items, ok := b["items"].([]any)
		if !ok || len(items) != n {
			t.Errorf("items %v, want %d", b["items"], n)
		}
		if _, ok := b["sources"].([]any); !ok {
			t.Errorf("sources %v", b["sources"])
		}
		if b["complete"] != complete {
			t.Errorf("complete %v, want %v", b["complete"], complete)
		}
	}
}

// sourcedOne checks a single resource's envelope: its own member key
// beside sources and complete.
func sourcedOne(key string, complete bool) func(*testing.T, map[string]any, *stubs) {
	return func(t *testing.T, b map[string]any, _ *stubs) {
		t.Helper()
		if _, ok := b[key]; !ok {
			t.Errorf("no %q in %v", key, b)
		}
		if _, ok := b["sources"].([]any); !ok {
			t.Errorf("sources %v", b["sources"])
		}
		if b["complete"] != complete {
			t.Errorf("complete %v, want %v", b["complete"], complete)
		}
	}
}

func notCalled(op string) func(*testing.T, map[string]any, *stubs) {
	return func(t *testing.T, _ map[string]any, s *stubs) {
		t.Helper()
		if s.called(op) {
			t.Errorf("%s was called for input the gateway refuses", op)
		}
	}
}

const (
	reader   = "dev-reader"
	operator = "dev-operator"
	admin    = "dev-admin"
)

var (
	errDeadline = context.DeadlineExceeded
	okSources   = []aggregate.Source{{Vendor: model.VendorGDAP, Status: "ok"}}
)

// get sends an authenticated GET and decodes the JSON answer.
func (ts *testServer) get(t *testing.T, path string) (int, map[string]any) {
	t.Helper()
	tok, err := ts.issuer.Token(admin, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	ts.h.ServeHTTP(rec, req)
	var b map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &b)
	return rec.Code, b
}
