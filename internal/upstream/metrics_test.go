package upstream

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/partnerhub/gateway/internal/testclock"
)

// breakerGaugeValue reads gateway_upstream_breaker_state for vendor; -1
// when the series is missing.
func breakerGaugeValue(t *testing.T, reg prometheus.Gatherer, vendor string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gateway_upstream_breaker_state" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "vendor" && l.GetValue() == vendor {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}

// An operator watching the dashboard must see the breaker leave "open"
// when its open period ends, not only when the next call happens to come.
func TestBreakerGaugeTurnsHalfOpenWithoutTraffic(t *testing.T) {
	t.Parallel()
	srv, h := statusServer(t, "", 500)
	openFor := 200 * time.Millisecond
	c, reg := newTestClient(t, Config{MaxAttempts: 1, Breaker: BreakerConfig{
		MinRequests: 3, FailureRatio: 1, Window: time.Minute, OpenFor: openFor, HalfOpenProbes: 1}})
	if got := breakerGaugeValue(t, reg, "test"); got != 0 {
		t.Fatalf("new breaker gauge = %v, want 0 (closed)", got)
	}
	for range 3 {
		_ = get(t.Context(), c, srv.URL)
	}
	calls := h.n.Load()
	if got := breakerGaugeValue(t, reg, "test"); got != 2 {
		t.Fatalf("gauge after sustained failure = %v, want 2 (open)", got)
	}
	time.Sleep(openFor)
	testclock.WaitFor(t, 10*time.Second, 20*time.Millisecond, "the gauge reading 1 (half-open) after the open period", func() bool {
		return breakerGaugeValue(t, reg, "test") == 1
	})
	if h.n.Load() != calls {
		t.Errorf("the vendor was called while only scraping metrics")
	}
}
