package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/partnerhub/gateway/internal/devoidc"
	"github.com/partnerhub/gateway/internal/testclock"
)

const audience = "gateway-test"

// testIssuer is a devoidc issuer that counts key-set fetches and can be
// told to fail them.
type testIssuer struct {
	*devoidc.Issuer
	fetches  atomic.Int64
	failJWKS atomic.Bool
}

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	ti := &testIssuer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/jwks" {
			ti.fetches.Add(1)
			if ti.failJWKS.Load() {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
		}
		ti.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	in, err := devoidc.New(srv.URL, audience, "roles", devoidc.DevClients)
	if err != nil {
		t.Fatal(err)
	}
	ti.Issuer = in
	return ti
}

type fixture struct {
	iss   *testIssuer
	v     *Verifier
	clock *testclock.Clock
	reg   *prometheus.Registry
}

const interval = time.Minute

func newFixture(t *testing.T) fixture {
	t.Helper()
	iss := newTestIssuer(t)
	clock := testclock.New(time.Now())
	reg := prometheus.NewRegistry()
	v, err := NewVerifier(t.Context(), Config{
		Issuer: iss.URL(), Audience: audience, RolesClaim: "roles",
		Permissions:    map[string][]string{"reader": {"customers:read"}},
		JWKSMinRefresh: interval, Registerer: reg, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := iss.fetches.Load(); n != 1 {
		t.Fatalf("start-up fetched the key set %d times, want 1", n)
	}
	return fixture{iss: iss, v: v, clock: clock, reg: reg}
}

func (f fixture) token(t *testing.T) string {
	t.Helper()
	tok, err := f.iss.Token("dev-reader", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func validClaims(iss string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": iss, "aud": audience, "sub": "mallory",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "roles": []string{"reader"}}
}

// sendForged verifies n tokens signed by an attacker's key under unknown
// key ids, 50 at a time, and fails the test if any is accepted.
func sendForged(t *testing.T, f fixture, key *rsa.PrivateKey, n int) {
	t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	var accepted atomic.Int64
	// Twenty distinct forgeries, replayed: signing is the slow part.
	var forged []string
	for i := range 20 {
		tok, err := devoidc.SignWith(key, fmt.Sprintf("forged-%d", i), validClaims(f.iss.URL()))
		if err != nil {
			t.Fatal(err)
		}
		forged = append(forged, tok)
	}
	for i := range n {
		tok := forged[i%len(forged)]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := f.v.Verify(t.Context(), tok); err == nil {
				accepted.Add(1)
			} else if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("forged token: %v, want ErrInvalidToken", err)
			}
		}()
	}
	wg.Wait()
	if a := accepted.Load(); a != 0 {
		t.Fatalf("%d forged tokens were accepted", a)
	}
}

func attackerKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestForgedTokensFetchKeySetAtMostOncePerInterval(t *testing.T) {
	f := newFixture(t)
	key := attackerKey(t)

	// Within the interval after start-up: no fetch at all.
	sendForged(t, f, key, 1000)
	within := f.iss.fetches.Load() - 1
	// Once the interval has passed: one fetch, shared by all.
	f.clock.Advance(interval)
	sendForged(t, f, key, 1000)
	after := f.iss.fetches.Load() - 1 - within
	t.Logf("1000 forged tokens within the interval: %d fetches; 1000 more after it: %d fetches", within, after)
	if within != 0 || after != 1 {
		t.Fatalf("key-set fetches: %d within the interval, %d after it; want 0 and 1", within, after)
	}
	if got := testutil.ToFloat64(f.v.keys.fetches.WithLabelValues("success")); got != 2 {
		t.Errorf("gateway_oidc_jwks_fetches_total{result=success} = %v, want 2", got)
	}
	// The real caller is unaffected.
	if _, err := f.v.Verify(t.Context(), f.token(t)); err != nil {
		t.Fatalf("valid token after the attack: %v", err)
	}
}

func TestBadSignatureUnderKnownKidNeverFetches(t *testing.T) {
	f := newFixture(t)
	key := attackerKey(t)
	f.clock.Advance(10 * interval)
	for range 100 {
		tok, err := devoidc.SignWith(key, "dev-1", validClaims(f.iss.URL())) // the issuer's kid
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.v.Verify(t.Context(), tok); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("forged token under a known kid: %v, want ErrInvalidToken", err)
		}
	}
	if n := f.iss.fetches.Load(); n != 1 {
		t.Fatalf("key set fetched %d times, want only the start-up fetch", n)
	}
}

func TestKeyRotationIsPickedUp(t *testing.T) {
	f := newFixture(t)
	old := f.token(t)
	if err := f.iss.RotateKey(); err != nil {
		t.Fatal(err)
	}
	fresh := f.token(t)
	// Within the interval the new key is not fetched yet: bounded, so
	// a refresh right at start-up delays a rotation by at most an interval.
	if _, err := f.v.Verify(t.Context(), fresh); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("new-kid token within the interval: %v, want ErrInvalidToken", err)
	}
	f.clock.Advance(interval)
	if _, err := f.v.Verify(t.Context(), fresh); err != nil {
		t.Fatalf("token signed by the rotated key: %v", err)
	}
	if n := f.iss.fetches.Load(); n != 2 {
		t.Fatalf("key set fetched %d times, want 2 (start-up, rotation)", n)
	}
	// The issuer no longer publishes the old key.
	if _, err := f.v.Verify(t.Context(), old); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token of the retired key: %v, want ErrInvalidToken", err)
	}
}

func TestFailedFetchIsCountedAndKeepsKnownKeys(t *testing.T) {
	f := newFixture(t)
	f.iss.failJWKS.Store(true)
	f.clock.Advance(interval)
	sendForged(t, f, attackerKey(t), 20)
	if got := testutil.ToFloat64(f.v.keys.fetches.WithLabelValues("failure")); got != 1 {
		t.Errorf("gateway_oidc_jwks_fetches_total{result=failure} = %v, want 1", got)
	}
	if _, err := f.v.Verify(t.Context(), f.token(t)); err != nil {
		t.Fatalf("valid token while the issuer's JWKS fails: %v", err)
	}
	if n := f.iss.fetches.Load(); n != 2 {
		t.Fatalf("key set fetched %d times, want 2", n)
	}
}

func TestTimeClaimsMustBeNumbers(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	for _, c := range []struct {
		claim string
		value any
	}{
		{"exp", fmt.Sprint(now.Add(time.Hour).Unix())},
		{"nbf", fmt.Sprint(now.Unix())},
		{"iat", fmt.Sprint(now.Unix())},
		{"exp", true},
	} {
		claims := validClaims(f.iss.URL())
		claims[c.claim] = c.value
		tok, err := f.iss.Sign(claims)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.v.Verify(t.Context(), tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s = %#v: %v, want ErrInvalidToken", c.claim, c.value, err)
		}
	}
	tok, err := f.iss.Sign(validClaims(f.iss.URL()))
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.v.Verify(t.Context(), tok)
	if err != nil || p.Subject != "mallory" || !p.Can("customers:read") {
		t.Fatalf("numeric time claims: %+v, %v", p, err)
	}
}
