package middleware

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/partnerhub/gateway/internal/auth"
	"github.com/partnerhub/gateway/internal/devoidc"
	"github.com/partnerhub/gateway/internal/testclock"
)

type authFixture struct {
	h       http.Handler
	iss     *devoidc.Issuer
	clock   *testclock.Clock
	fetches *atomic.Int64
	reached *atomic.Int64
}

func newAuthFixture(t *testing.T, cfg *AuthFailureConfig) authFixture {
	t.Helper()
	var iss *devoidc.Issuer
	fetches := &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/jwks" {
			fetches.Add(1)
		}
		iss.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	var err error
	if iss, err = devoidc.New(srv.URL, "aud", "roles", devoidc.DevClients); err != nil {
		t.Fatal(err)
	}
	clock := testclock.New(time.Now())
	v, err := auth.NewVerifier(t.Context(), auth.Config{Issuer: srv.URL, Audience: "aud", RolesClaim: "roles",
		JWKSMinRefresh: time.Second, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var lim *AuthFailureLimiter
	if cfg != nil {
		cfg.Now = clock.Now
		if lim, err = NewAuthFailureLimiter(*cfg, prometheus.NewRegistry()); err != nil {
			t.Fatal(err)
		}
	}
	reached := &atomic.Int64{}
	h := RequestIDMiddleware(Authenticate(v, lim)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})))
	return authFixture{h: h, iss: iss, clock: clock, fetches: fetches, reached: reached}
}

func (f authFixture) do(t *testing.T, remote string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/v1/customers", nil)
	req.RemoteAddr = remote
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func (f authFixture) valid(t *testing.T) string {
	t.Helper()
	tok, err := f.iss.Token("dev-reader", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestSeveralAuthorizationHeadersAreRefused(t *testing.T) {
	f := newAuthFixture(t, nil)
	tok := f.valid(t)
	rec := f.do(t, "192.0.2.1:5000", http.Header{"Authorization": {"Bearer " + tok, "Bearer " + tok}})
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if ch := rec.Header().Get("WWW-Authenticate"); !strings.Contains(ch, `error="invalid_request"`) {
		t.Errorf("WWW-Authenticate = %q, want error=\"invalid_request\"", ch)
	}
	var p struct {
		Errors []struct{ Location string } `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || len(p.Errors) != 1 || p.Errors[0].Location != "header.Authorization" {
		t.Errorf("body = %s", rec.Body)
	}
	if f.reached.Load() != 0 {
		t.Error("the handler ran with ambiguous credentials")
	}
	// One header still works.
	if rec := f.do(t, "192.0.2.1:5000", bearer(tok)); rec.Code != http.StatusNoContent {
		t.Fatalf("one header: status %d", rec.Code)
	}
}

func TestFailedAuthenticationIsLimitedPerAddressBeforeVerification(t *testing.T) {
	f := newAuthFixture(t, &AuthFailureConfig{PerSecond: 0.5, Burst: 3})
	forged := "eyJhbGciOiJSUzI1NiIsImtpZCI6Im5vcGUifQ.eyJzdWIiOiJ4In0.c2ln"
	attacker := "198.51.100.7:40000"
	for i := range 3 {
		if rec := f.do(t, attacker, bearer(forged)); rec.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i+1, rec.Code)
		}
	}
	f.clock.Advance(time.Second) // allow a key-set refresh, were one attempted
	before := f.fetches.Load()
	for range 100 {
		rec := f.do(t, attacker, bearer(forged))
		if rec.Code != http.StatusTooManyRequests {
			t.Fatalf("over the limit: status %d, want 429", rec.Code)
		}
		if rec.Header().Get("Retry-After") != "1" || rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("429 headers: %v", rec.Header())
		}
	}
	if n := f.fetches.Load() - before; n != 0 {
		t.Errorf("refused requests made %d key-set fetches; they must not reach verification", n)
	}
	// Even a valid token from that address waits: nothing is verified.
	if rec := f.do(t, attacker, bearer(f.valid(t))); rec.Code != http.StatusTooManyRequests {
		t.Errorf("valid token from a blocked address: %d, want 429", rec.Code)
	}
	// Another address is unaffected, and successes cost nothing.
	for range 10 {
		if rec := f.do(t, "203.0.113.9:1", bearer(f.valid(t))); rec.Code != http.StatusNoContent {
			t.Fatalf("other address: %d", rec.Code)
		}
	}
	// The bucket refills.
	f.clock.Advance(time.Second)
	if rec := f.do(t, attacker, bearer(f.valid(t))); rec.Code != http.StatusNoContent {
		t.Errorf("after Retry-After: %d, want 204", rec.Code)
	}
}

func TestForwardedForCountsOnlyBehindTrustedProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	req := func(remote string, xff ...string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		for _, v := range xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		return r
	}
	for _, c := range []struct {
		name string
		r    *http.Request
		want string
	}{
		{"direct peer, header ignored", req("198.51.100.7:1", "1.2.3.4"), "198.51.100.7"},
		{"trusted proxy", req("10.1.2.3:1", "203.0.113.5"), "203.0.113.5"},
		{"spoofed left part ignored", req("10.1.2.3:1", "1.1.1.1, 203.0.113.5"), "203.0.113.5"},
		{"two trusted hops", req("10.1.2.3:1", "203.0.113.5, 10.9.9.9"), "203.0.113.5"},
		{"several headers", req("10.1.2.3:1", "1.1.1.1", "203.0.113.5"), "203.0.113.5"},
		{"garbage stops the walk", req("10.1.2.3:1", "203.0.113.5, nonsense"), "10.1.2.3"},
		{"trusted proxy without header", req("10.1.2.3:1"), "10.1.2.3"},
		{"ipv6 peer", req("[2001:db8::1]:1", "1.2.3.4"), "2001:db8::1"},
	} {
		if got := ClientAddr(c.r, trusted); got != c.want {
			t.Errorf("%s: ClientAddr = %q, want %q", c.name, got, c.want)
		}
	}
	if got := limitKey("2001:db8:1:2:3:4:5:6"); got != "2001:db8:1:2::/64" {
		t.Errorf("limitKey(ipv6) = %q, want the /64", got)
	}
}

// TestTimeClaimsThatAreNotNumbersAre401: exp/nbf/iat as strings would be
// read as numbers by go-oidc; the gateway refuses them.
func TestTimeClaimsThatAreNotNumbersAre401(t *testing.T) {
	f := newAuthFixture(t, nil)
	now := time.Now()
	for _, claim := range []string{"exp", "nbf", "iat"} {
		claims := map[string]any{"iss": f.iss.URL(), "aud": "aud", "sub": "x",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		claims[claim] = fmt.Sprint(claims[claim])
		tok, err := f.iss.Sign(claims)
		if err != nil {
			t.Fatal(err)
		}
		rec := f.do(t, "192.0.2.1:1", bearer(tok))
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Header().Get("WWW-Authenticate"), "invalid_token") {
			t.Errorf("%s as a string: %d %q", claim, rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
	}
	if f.reached.Load() != 0 {
		t.Error("a token with string time claims reached the handler")
	}
}
