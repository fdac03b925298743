package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/upstream/simfault"
)

// faultVendor is how the fault tests reach one vendor's simulator.
type faultVendor struct {
	// baseURLEnv is the gateway variable holding the simulator's base URL;
	// the simulator's fault control is at the root of the same host.
	baseURLEnv string
	injector   func(*vendorSims) *simfault.Injector
	// message500 is what the simulator's own error body says with a 500,
	// "" when the vendor sends none (GDAP answers 5xx with an empty body).
	message500 string
}

var faultVendors = map[string]faultVendor{
	"gdap":     {"GATEWAY_GDAP_BASE_URL", func(s *vendorSims) *simfault.Injector { return s.GDAP.Faults }, ""},
	"crayon":   {"GATEWAY_CRAYON_BASE_URL", func(s *vendorSims) *simfault.Injector { return s.Crayon.Faults }, "Ops. Something broke"},
	"bokamera": {"GATEWAY_BOKAMERA_BASE_URL", func(s *vendorSims) *simfault.Injector { return s.BokaMera.Faults }, "Internal Server Error"},
	"dbsync":   {"GATEWAY_DBSYNC_BASE_URL", func(s *vendorSims) *simfault.Injector { return s.DBSync.Faults }, ""},
}

// faultEnv is the time budget of the fault tests. A healthy simulator
// answers in milliseconds; the budget gives it 85 % of 3 s (once, under
// -race with both CPUs busy, one took 602 ms), and each vendor's own
// timeout is longer still, so only a fault ever times out. Faults that
// must time out (hangs, 60 s latency, a dripping body) last far longer
// than the budget.
var faultEnv = []string{
	"GATEWAY_REQUEST_TIMEOUT", faultBudget.String(),
	"GATEWAY_GDAP_TIMEOUT", faultVendorTimeout.String(),
	"GATEWAY_CRAYON_TIMEOUT", faultVendorTimeout.String(),
	"GATEWAY_BOKAMERA_TIMEOUT", faultVendorTimeout.String(),
	"GATEWAY_DBSYNC_TIMEOUT", faultVendorTimeout.String(),
	// The matrix measures what a vendor fault does to a fresh read; the
	// read cache (which would hide it behind a stale answer) and the rate
	// limit have tests of their own (resilience_test.go).
	"GATEWAY_CACHE_TTL", "0",
	"GATEWAY_RATE_LIMIT", "0",
}

const (
	faultBudget        = 3 * time.Second
	faultVendorTimeout = 5 * time.Second
	// budgetGrace is what an answer may take past the request budget:
	// writing it and the test's own scheduling on a busy machine. A
	// vendor wait (the faults last a minute or forever) is far beyond it.
	budgetGrace = 5 * time.Second
)

// faultRig is one gateway on its own simulators, with a caller whose
// connections are its own (closed at the end, so no keep-alive goroutine
// outlives the test) and whose every answer is checked against the spec.
type faultRig struct {
	t    *testing.T
	sims *vendorSims
	gw   *gateway
	spec *client
	http *http.Client
}

func newFaultRig(t *testing.T, caller string, env ...string) *faultRig {
	t.Helper()
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env(append(append([]string{}, faultEnv...), env...)...))
	hc := &http.Client{Transport: &http.Transport{}, Timeout: faultBudget + 10*time.Second}
	t.Cleanup(hc.CloseIdleConnections)
	return &faultRig{t: t, sims: sims, gw: gw, spec: newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), caller)), http: hc}
}

// call sends one request as the rig's caller, validates the answer against
// api/openapi.yaml and reports how long it took.
func (r *faultRig) call(method, path, body string, headers ...string) (response, time.Duration) {
	r.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
		headers = append([]string{"Content-Type", "application/json"}, headers...)
	}
	start := time.Now()
	out, err := send(r.http, method, r.gw.URL+path, r.spec.token, rd, headers...)
	took := time.Since(start)
	if err != nil {
		r.t.Fatal(err)
	}
	r.spec.validate(method, path, out)
	return out, took
}

// setFault puts f on a vendor's simulator through its admin endpoint, as
// an operator would with curl.
func (r *faultRig) setFault(vendor string, f simfault.Fault) {
	r.t.Helper()
	body, _ := json.Marshal(f)
	r.admin(vendor, http.MethodPut, body)
}

// clearFault removes a vendor's fault through its admin endpoint.
func (r *faultRig) clearFault(vendor string) {
	r.t.Helper()
	r.admin(vendor, http.MethodDelete, nil)
}

func (r *faultRig) admin(vendor, method string, body []byte) {
	r.t.Helper()
	v, ok := faultVendors[vendor]
	if !ok {
		r.t.Fatalf("no simulator for vendor %q", vendor)
	}
	u, err := url.Parse(r.sims.env[v.baseURLEnv])
	if err != nil {
		r.t.Fatal(err)
	}
	u.Path, u.RawQuery = simfault.AdminPath, ""
	req, _ := http.NewRequest(method, u.String(), bytes.NewReader(body))
	resp, err := r.http.Do(req)
	if err != nil {
		r.t.Fatalf("%s fault control: %v", vendor, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		r.t.Fatalf("%s fault control: %d %s", vendor, resp.StatusCode, b)
	}
}

// calls is how many requests reached a vendor's simulator so far.
func (r *faultRig) calls(vendor string) int {
	return faultVendors[vendor].injector(r.sims).TotalCalls()
}

// sample is one series of the gateway's /metrics.
type sample struct {
	name   string
	labels map[string]string
	value  float64 // counter or gauge value
	sum    float64 // histogram sum
	count  uint64  // histogram count
}

// metrics scrapes the gateway's /metrics.
func (r *faultRig) metrics() []sample {
	r.t.Helper()
	resp, err := r.http.Get(r.gw.URL + "/metrics")
	if err != nil {
		r.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return parseExposition(r.t, body)
}

// metric adds up the series of name whose labels include labels.
func metric(samples []sample, name string, labels map[string]string) (value, sum float64, count uint64) {
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for k, v := range labels {
			if s.labels[k] != v {
				continue next
			}
		}
		value, sum, count = value+s.value, sum+s.sum, count+s.count
	}
	return value, sum, count
}

// breakerState is the gateway's gauge for vendor: 0 closed, 1 half-open, 2 open.
func (r *faultRig) breakerState(vendor string) float64 {
	v, _, _ := metric(r.metrics(), "gateway_upstream_breaker_state", map[string]string{"vendor": vendor})
	return v
}

// sourceBody is one entry of an answer's sources.
type sourceBody struct {
	Vendor     string `json:"vendor"`
	Status     string `json:"status"`
	DurationMS int64  `json:"duration_ms"`
	Detail     string `json:"detail"`
}

// sourcedAnswer is the part every aggregated answer (or its problem) has.
type sourcedAnswer struct {
	Sources  []sourceBody `json:"sources"`
	Complete bool         `json:"complete"`
}

func (a sourcedAnswer) source(vendor string) (sourceBody, bool) {
	for _, s := range a.Sources {
		if s.Vendor == vendor {
			return s, true
		}
	}
	return sourceBody{}, false
}

// gate sits in front of a simulator and, while closed, holds every request
// until it opens again or the caller gives up: in-flight requests the test
// controls, without guessing how long they take.
type gate struct {
	URL string // the gate's own root; the simulator's paths work under it

	mu      sync.Mutex
	closed  bool
	open    chan struct{}
	waiting int
}

func newGate(t *testing.T, simURL string) *gate {
	t.Helper()
	target, err := url.Parse(simURL)
	if err != nil {
		t.Fatal(err)
	}
	target.Path = ""
	proxy := httputil.NewSingleHostReverseProxy(target)
	tr := &http.Transport{}
	proxy.Transport = tr
	g := &gate{open: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		wait := g.closed
		release := g.open
		if wait {
			g.waiting++
		}
		g.mu.Unlock()
		if wait {
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(tr.CloseIdleConnections)
	t.Cleanup(g.Open) // first: Close waits for the requests it holds
	g.URL = srv.URL
	return g
}

// Close makes later requests wait.
func (g *gate) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed {
		g.closed, g.open, g.waiting = true, make(chan struct{}), 0
	}
}

// Open lets every held request through.
func (g *gate) Open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		g.closed = false
		close(g.open)
	}
}

// Waiting is how many requests arrived since the gate closed.
func (g *gate) Waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waiting
}
