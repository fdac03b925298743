package middleware

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/partnerhub/gateway/internal/auth"
	"github.com/partnerhub/gateway/internal/testclock"
)

// limited is a router whose /things/{id} route is rate limited; callers
// are named by the X-Test-Subject header (authentication is not under
// test here).
func limited(t *testing.T, cfg RateLimitConfig) (http.Handler, *RateLimiter, *testclock.Clock) {
	t.Helper()
	clk := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg.Now = clk.Now
	rl, err := NewRateLimiter(cfg, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(RequestIDMiddleware)
	r.Group(func(r chi.Router) {
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if sub := r.Header.Get("X-Test-Subject"); sub != "" {
					r = r.WithContext(auth.WithPrincipal(r.Context(), auth.Principal{Subject: sub}))
				}
				next.ServeHTTP(w, r)
			})
		}, rl.Middleware)
		r.Get("/things/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	})
	return r, rl, clk
}

func call(h http.Handler, subject string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/things/1", nil)
	if subject != "" {
		req.Header.Set("X-Test-Subject", subject)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestRateLimitRefusesBeyondBurstWithRetryAfter(t *testing.T) {
	h, rl, clk := limited(t, RateLimitConfig{PerSecond: 0.4, Burst: 2})
	for i := range 2 {
		if rec := call(h, "alice"); rec.Code != http.StatusNoContent {
			t.Fatalf("request %d within the burst: %d", i+1, rec.Code)
		}
	}
	rec := call(h, "alice")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("over the burst: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	// One token takes 2.5 s at 0.4/s: Retry-After rounds up.
	if ra := rec.Header().Get("Retry-After"); ra != "3" {
		t.Errorf("Retry-After = %q, want 3", ra)
	}
	var p struct {
		Type, Title, Detail, Instance string
		Status                        int
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != 429 || !strings.HasSuffix(p.Type, "/rate-limited") || p.Instance == "" ||
		!strings.Contains(p.Detail, "0.4 requests per second") || !strings.Contains(p.Detail, "bursts of 2") ||
		!strings.Contains(p.Detail, "retry in 3 s") {
		t.Errorf("problem %+v", p)
	}
	if n := limitedCount(t, rl, "/things/{id}"); n != 1 {
		t.Errorf("gateway_rate_limited_total{route=/things/{id}} = %v, want 1", n)
	}

	clk.Advance(2 * time.Second) // 0.8 of a token: still refused, sooner
	if rec := call(h, "alice"); rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("after 2s: %d, Retry-After %q; want 429 and 1", rec.Code, rec.Header().Get("Retry-After"))
	}
	clk.Advance(500 * time.Millisecond)
	if rec := call(h, "alice"); rec.Code != http.StatusNoContent {
		t.Fatalf("after Retry-After passed: %d", rec.Code)
	}
}

func TestRateLimitIsPerSubject(t *testing.T) {
	h, _, _ := limited(t, RateLimitConfig{PerSecond: 1, Burst: 1})
	if call(h, "alice").Code != http.StatusNoContent || call(h, "alice").Code != http.StatusTooManyRequests {
		t.Fatal("alice was not limited after her burst")
	}
	if rec := call(h, "bob"); rec.Code != http.StatusNoContent {
		t.Fatalf("bob limited by alice's use: %d", rec.Code)
	}
}

func TestRateLimitWithoutCallerIsRefused(t *testing.T) {
	h, _, _ := limited(t, RateLimitConfig{PerSecond: 1, Burst: 1})
	if rec := call(h, ""); rec.Code != http.StatusUnauthorized {
		t.Fatalf("unauthenticated request through the limiter: %d", rec.Code)
	}
}

func TestRateLimitTracksBoundedSubjects(t *testing.T) {
	h, rl, clk := limited(t, RateLimitConfig{PerSecond: 1, Burst: 2, MaxSubjects: 3})
	for i := range 10 {
		call(h, fmt.Sprint("caller-", i))
		if n := rl.Tracked(); n > 3 {
			t.Fatalf("%d subjects tracked, cap 3", n)
		}
	}
	// Callers idle for a full refill are forgotten when someone new comes.
	clk.Advance(2 * time.Second)
	call(h, "newcomer")
	if n := rl.Tracked(); n != 1 {
		t.Fatalf("%d subjects tracked after the others idled out, want 1", n)
	}
	// A caller still refilling is kept: forgetting it would hand it a
	// fresh burst.
	call(h, "busy")
	call(h, "busy")
	clk.Advance(time.Second)
	call(h, "another")
	if call(h, "busy").Code != http.StatusNoContent {
		t.Fatal("busy caller refused after a second's refill")
	}
	if call(h, "busy").Code != http.StatusTooManyRequests {
		t.Fatal("busy caller's bucket was forgotten while not yet refilled")
	}
}

func TestNewRateLimiterValidates(t *testing.T) {
	for _, cfg := range []RateLimitConfig{{PerSecond: 0, Burst: 1}, {PerSecond: 1, Burst: 0}, {PerSecond: -1, Burst: 1}, {PerSecond: 1, Burst: 1, MaxSubjects: -1}} {
		if _, err := NewRateLimiter(cfg, prometheus.NewRegistry()); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

// limitedCount reads gateway_rate_limited_total{route} as /metrics would.
func limitedCount(t *testing.T, rl *RateLimiter, route string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(rl.limited)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gateway_rate_limited_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" && l.GetValue() == route {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
