package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/partnerhub/gateway/internal/upstream/simfault"
)

// exportedSeriesFile lists the series names a running gateway exports; the
// dashboard and alert-rule checks under deploy/ may use only these.
const exportedSeriesFile = "../../deploy/exported-series.txt"

// TestMetricsExposition drives a real gateway through the situations the
// dashboard and alerts watch (traffic, a retried and failing vendor, a stale
// cache answer, a rate-limited caller), then checks its /metrics: promtool
// accepts the exposition, the new series carry what operators need, and
// the exported series names match deploy/exported-series.txt (rewrite it
// with GATEWAY_UPDATE_SERIES=1).
func TestMetricsExposition(t *testing.T) {
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env(
		// Wide enough that the second read is a hit on a busy machine.
		"GATEWAY_CACHE_TTL", "1s",
		"GATEWAY_RATE_LIMIT", "0.5", "GATEWAY_RATE_BURST", "4",
		"GATEWAY_RETRY_BACKOFF_BASE", "1ms", "GATEWAY_RETRY_BACKOFF_MAX", "2ms",
	))
	reader := fetchToken(t, sims.Issuer.URL(), "dev-reader")
	for range 2 { // a cache miss, then a hit
		if r := do(t, "GET", gw.URL+"/v1/customers", reader, nil); r.Status != 200 {
			t.Fatalf("customers: %d %s", r.Status, r.Body)
		}
	}
	sims.GDAP.Faults.Set(simfault.Fault{Status: 503})
	time.Sleep(1200 * time.Millisecond) // past the cache TTL
	if r := do(t, "GET", gw.URL+"/v1/customers", reader, nil); r.Status != 200 {
		t.Fatalf("customers with GDAP failing: %d %s", r.Status, r.Body)
	}
	sims.GDAP.Faults.Clear()
	operator := fetchToken(t, sims.Issuer.URL(), "dev-operator")
	limited := false
	for range 8 {
		if do(t, "GET", gw.URL+"/v1/roles", operator, nil).Status == 429 {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("no 429 after 8 quick requests at 0.5/s with burst 4")
	}

	body := do(t, "GET", gw.URL+"/metrics", "", nil).Body
	samples := parseExposition(t, body)
	for _, c := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"gateway_build_info", map[string]string{"version": "dev"}, 1},
		{"gateway_store_up", nil, 1},
		{"gateway_cache_lookups_total", map[string]string{"cache": "vendor_reads", "result": "miss"}, 1},
		{"gateway_cache_lookups_total", map[string]string{"cache": "vendor_reads", "result": "hit"}, 1},
		{"gateway_cache_lookups_total", map[string]string{"cache": "vendor_reads", "result": "stale"}, 1},
		{"gateway_upstream_retries_total", map[string]string{"vendor": "gdap"}, 1},
		{"gateway_rate_limited_total", nil, 1},
	} {
		if v, _, _ := metric(samples, c.name, c.labels); v < c.min {
			t.Errorf("%s%v = %v, want at least %v", c.name, c.labels, v, c.min)
		}
	}

	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	} else if os.Getenv("GATEWAY_REQUIRE_TOOLS") != "" {
		t.Error("GATEWAY_REQUIRE_TOOLS is set but promtool is not installed (apt-get install prometheus)")
	} else {
		t.Log("promtool not installed: exposition not linted (apt-get install prometheus)")
	}

	got := seriesNames(t, body)
	if os.Getenv("GATEWAY_UPDATE_SERIES") != "" {
		if err := os.WriteFile(exportedSeriesFile, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(exportedSeriesFile)
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Fields(string(want)); !slices.Equal(w, got) {
		t.Errorf("%s is out of date (rerun with GATEWAY_UPDATE_SERIES=1 and check the dashboard and rules)\nwant %v\ngot  %v",
			filepath.Base(exportedSeriesFile), w, got)
	}
}

// seriesNames are the sample names of the gateway's own families, as PromQL
// sees them (histograms as _bucket, _sum, _count). Go runtime and process
// series are left out: they vary with the Go release and the platform.
func seriesNames(t *testing.T, body []byte) []string {
	t.Helper()
	var names []string
	for name, f := range families(t, body) {
		if !strings.HasPrefix(name, "gateway_") {
			continue
		}
		switch f.GetType().String() {
		case "HISTOGRAM":
			names = append(names, name+"_bucket", name+"_sum", name+"_count")
		case "SUMMARY":
			names = append(names, name, name+"_sum", name+"_count")
		default:
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func families(t *testing.T, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

// parseExposition flattens an exposition into samples for metric().
func parseExposition(t *testing.T, body []byte) []sample {
	t.Helper()
	var out []sample
	for name, mf := range families(t, body) {
		for _, m := range mf.GetMetric() {
			s := sample{name: name, labels: map[string]string{}}
			for _, l := range m.GetLabel() {
				s.labels[l.GetName()] = l.GetValue()
			}
			switch {
			case m.GetCounter() != nil:
				s.value = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				s.value = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				s.sum, s.count = m.GetHistogram().GetSampleSum(), m.GetHistogram().GetSampleCount()
			}
			out = append(out, s)
		}
	}
	return out
}
