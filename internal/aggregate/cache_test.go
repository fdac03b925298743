package aggregate

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/auth"
	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/testclock"
	"github.com/partnerhub/gateway/internal/upstream"
	"github.com/partnerhub/gateway/internal/upstream/readcache"
)

func newTestReadCache(t *testing.T) (*ReadCache, *testclock.Clock) {
	t.Helper()
	clk := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rc, err := NewReadCache(readcache.Config{TTL: time.Second, MaxStale: time.Minute, MaxEntries: 100, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return rc, clk
}

func as(ctx context.Context, subject string, perms ...string) context.Context {
	return auth.WithPrincipal(ctx, auth.Principal{Subject: subject, Permissions: perms})
}

// vendorStub answers with records until err is set, counting calls.
type vendorStub struct {
	calls atomic.Int32
	mu    sync.Mutex
	err   error
}

func (v *vendorStub) fail(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.err = err
}

func (v *vendorStub) list(context.Context) ([]model.CustomerRecord, error) {
	v.calls.Add(1)
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.err != nil {
		return nil, v.err
	}
	return []model.CustomerRecord{{Vendor: "crayon", VendorID: "1", Name: "Contoso", MicrosoftTenantID: "aaaa"}}, nil
}

func TestCachedScopesEntriesByPermissionSet(t *testing.T) {
	rc, _ := newTestReadCache(t)
	stub := &vendorStub{}
	read := Cached(rc, "crayon.list", stub.list)
	ctx := t.Context()

	steps := []struct {
		name  string
		ctx   context.Context
		calls int32 // vendor calls after this step
	}{
		{"first reader loads", as(ctx, "alice", "customers:read", "tenants:read"), 1},
		{"same permissions, other subject and order: shared", as(ctx, "bob", "tenants:read", "customers:read", "tenants:read"), 1},
		{"more permissions: own entry", as(ctx, "carol", "customers:read", "tenants:read", "audit:read"), 2},
		{"fewer permissions: own entry", as(ctx, "dave", "customers:read"), 3},
		{"no caller: never cached", ctx, 4},
		{"no caller again", ctx, 5},
	}
	for _, s := range steps {
		if _, _, err := read(s.ctx); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if n := stub.calls.Load(); n != s.calls {
			t.Fatalf("%s: vendor calls = %d, want %d", s.name, n, s.calls)
		}
	}
}

func TestCachedServesStaleWhenVendorUnhealthy(t *testing.T) {
	failures := map[string]struct {
		err    error
		status string
	}{
		"503":          {&upstream.Error{Vendor: "crayon", Status: 503}, upstream.StatusError},
		"timeout":      {&upstream.Error{Vendor: "crayon", Err: context.DeadlineExceeded}, upstream.StatusTimeout},
		"breaker open": {&upstream.Error{Vendor: "crayon", Err: upstream.ErrUnavailable}, upstream.StatusUnavailable},
	}
	for name, failure := range failures {
		t.Run(name, func(t *testing.T) {
			rc, clk := newTestReadCache(t)
			stub := &vendorStub{}
			svc := NewCustomers(CustomerSource{Vendor: "crayon", List: Cached(rc, "crayon.list", stub.list)})
			ctx := as(t.Context(), "alice", "customers:read")
			fresh, err := svc.List(ctx, CustomerQuery{})
			if err != nil || fresh.Sources[0].Stale {
				t.Fatalf("fresh: %+v, %v", fresh, err)
			}

			stub.fail(failure.err)
			clk.Advance(10 * time.Second) // past the TTL, within max stale
			got, err := svc.List(ctx, CustomerQuery{})
			if err != nil {
				t.Fatal(err)
			}
			src := got.Sources[0]
			// The data is served, but the outage is not hidden.
			if !src.Stale || src.Status != failure.status || got.Complete || len(got.Items) != len(fresh.Items) ||
				src.AgeMS != 10000 {
				t.Fatalf("stale answer: %+v (want status %s, age 10000 ms, not complete)", got, failure.status)
			}
			if !strings.Contains(src.Detail, "10s old") {
				t.Errorf("detail %q does not say how old the answer is", src.Detail)
			}

			clk.Advance(time.Minute) // past TTL + max stale
			if _, err := svc.List(ctx, CustomerQuery{}); err == nil {
				t.Fatal("an answer older than the max stale age was served")
			}
		})
	}
}

func TestCachedNeverHidesDefiniteAnswers(t *testing.T) {
	rc, clk := newTestReadCache(t)
	var gone atomic.Bool
	get := CachedBy(rc, "crayon.tenant", nil, func(_ context.Context, id string) (model.Tenant, error) {
		if gone.Load() {
			return model.Tenant{}, &upstream.Error{Vendor: "crayon", Status: 404, Err: upstream.ErrNotFound}
		}
		return model.Tenant{ID: id}, nil
	})
	ctx := as(t.Context(), "alice", "tenants:read")
	if tn, _, err := get(ctx, "7"); err != nil || tn.ID != "7" {
		t.Fatalf("got %+v, %v", tn, err)
	}
	if tn, _, err := get(ctx, "8"); err != nil || tn.ID != "8" {
		t.Fatalf("the argument is not part of the key: got %+v, %v", tn, err)
	}
	gone.Store(true)
	clk.Advance(2 * time.Second)
	if _, _, err := get(ctx, "7"); !errors.Is(err, upstream.ErrNotFound) {
		t.Fatalf("a vendor's not-found was hidden by a stale answer: %v", err)
	}
}

func TestTenantsStaleSourceAndSharedValueUntouched(t *testing.T) {
	rc, clk := newTestReadCache(t)
	gdapFails := atomic.Bool{}
	crayonPage := []model.Tenant{{ID: "1", MicrosoftTenantID: "aaaa"}}
	svc := NewTenants(TenantBackend{
		List: LiveBy(func(context.Context, TenantQuery) (TenantListing, error) {
			return TenantListing{Items: crayonPage, Total: 1}, nil // what a cached read hands out: shared
		}),
		GDAPCustomers: Cached(rc, "gdap.customers", func(context.Context) ([]model.GDAPCustomer, error) {
			if gdapFails.Load() {
				return nil, &upstream.Error{Vendor: "gdap", Status: 500}
			}
			return []model.GDAPCustomer{{MicrosoftTenantID: "aaaa", CompanyName: "Contoso"}}, nil
		}),
	})
	ctx := as(t.Context(), "alice", "tenants:read")
	if _, err := svc.List(ctx, TenantQuery{}); err != nil {
		t.Fatal(err)
	}
	gdapFails.Store(true)
	clk.Advance(5 * time.Second)
	page, err := svc.List(ctx, TenantQuery{})
	if err != nil {
		t.Fatal(err)
	}
	gdapSrc := page.Sources[1]
	if !gdapSrc.Stale || gdapSrc.Status != upstream.StatusError || page.Complete || page.Items[0].GDAP == nil {
		t.Fatalf("page %+v", page)
	}
	if page.Sources[0].Stale {
		t.Error("crayon marked stale though it answered")
	}
	if crayonPage[0].GDAP != nil {
		t.Error("enrichment modified the vendor's (shared) answer")
	}
}

func TestNewReadCacheZeroTTLIsOff(t *testing.T) {
	rc, err := NewReadCache(readcache.Config{})
	if err != nil || rc != nil {
		t.Fatalf("got %v, %v; want nil, nil", rc, err)
	}
	stub := &vendorStub{}
	read := Cached(rc, "x", stub.list)
	ctx := as(t.Context(), "alice", "customers:read")
	_, _, _ = read(ctx)
	_, _, _ = read(ctx)
	if stub.calls.Load() != 2 {
		t.Fatalf("a disabled cache cached: %d calls", stub.calls.Load())
	}
}

func TestCachedResultCarriesItsFreshness(t *testing.T) {
	rc, clk := newTestReadCache(t)
	stub := &vendorStub{}
	read := Cached(rc, "crayon.list", stub.list)
	ctx := as(t.Context(), "alice", "customers:read")
	if _, f, err := read(ctx); err != nil || f != (Freshness{}) {
		t.Fatalf("first read: %+v, %v; want a fresh answer", f, err)
	}
	clk.Advance(500 * time.Millisecond) // within the TTL
	if _, f, err := read(ctx); err != nil || f.Stale || f.Age != 500*time.Millisecond {
		t.Fatalf("cache hit: %+v, %v; want age 500ms, not stale", f, err)
	}
	failure := &upstream.Error{Vendor: "crayon", Status: 503}
	stub.fail(failure)
	clk.Advance(10 * time.Second)
	_, f, err := read(ctx)
	if err != nil || !f.Stale || f.Age != 10500*time.Millisecond || !errors.Is(f.Cause, failure) {
		t.Fatalf("stale read: %+v, %v; want stale, 10.5s old, caused by the 503", f, err)
	}
}
