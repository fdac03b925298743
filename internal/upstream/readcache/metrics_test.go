package readcache

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The dashboard's hit ratio and stale-serve panels read these counters:
// each lookup must land in exactly the result it had.
func TestMetricsCountEachLookupOnce(t *testing.T) {
	t.Parallel()
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	c, clk := newCache(t, Config{TTL: time.Second, MaxStale: 10 * time.Second, MaxEntries: 10, Metrics: m, Name: "reads"})
	l := &loader{value: "good"}
	results := func() map[string]float64 {
		out := map[string]float64{}
		for _, r := range []string{lookupHit, lookupMiss, lookupCoalesced, lookupStale, lookupError} {
			out[r] = testutil.ToFloat64(m.lookups.WithLabelValues("reads", r))
		}
		return out
	}
	step := func(name string, want map[string]float64) {
		t.Helper()
		got := results()
		for r, n := range want {
			if got[r] != n {
				t.Errorf("%s: %s = %v, want %v (all: %v)", name, r, got[r], n, got)
			}
		}
	}

	_, _ = c.Get(t.Context(), "k", l.load)
	step("first read", map[string]float64{lookupMiss: 1, lookupHit: 0})
	_, _ = c.Get(t.Context(), "k", l.load)
	step("read within TTL", map[string]float64{lookupMiss: 1, lookupHit: 1})
	if n := testutil.ToFloat64(m.entries.WithLabelValues("reads")); n != 1 {
		t.Errorf("entries = %v, want 1", n)
	}

	l.err = errVendor
	clk.Advance(5 * time.Second)
	_, _ = c.Get(t.Context(), "k", l.load)
	step("vendor failing, answer 5s old", map[string]float64{lookupStale: 1, lookupError: 0, lookupMiss: 1})
	clk.Advance(10 * time.Second)
	_, _ = c.Get(t.Context(), "k", l.load)
	step("vendor failing, answer too old", map[string]float64{lookupStale: 1, lookupError: 1})
	if n := testutil.ToFloat64(m.entries.WithLabelValues("reads")); n != 0 {
		t.Errorf("entries = %v after the too-old answer was dropped, want 0", n)
	}
}
