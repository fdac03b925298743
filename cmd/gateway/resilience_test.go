package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/config"
	"github.com/partnerhub/gateway/internal/testclock"
	"github.com/partnerhub/gateway/internal/upstream/crayon/crayonsim"
	"github.com/partnerhub/gateway/internal/upstream/simfault"
)

// staleList is the customer list with each source's stale flag.
type staleList struct {
	Items []struct {
		ID         string `json:"id"`
		References []struct {
			Vendor string `json:"vendor"`
		} `json:"references"`
	} `json:"items"`
	Sources []struct {
		Vendor string `json:"vendor"`
		Status string `json:"status"`
		Stale  bool   `json:"stale"`
		Detail string `json:"detail"`
	} `json:"sources"`
	Complete bool `json:"complete"`
}

func (l staleList) source(t *testing.T, vendor string) (status string, stale bool, detail string) {
	t.Helper()
	for _, s := range l.Sources {
		if s.Vendor == vendor {
			return s.Status, s.Stale, s.Detail
		}
	}
	t.Fatalf("no %s source in %+v", vendor, l.Sources)
	return "", false, ""
}

func (l staleList) ids() []string {
	var out []string
	for _, c := range l.Items {
		out = append(out, c.ID)
	}
	return out
}

func (l staleList) hasVendor(vendor string) bool {
	for _, c := range l.Items {
		for _, r := range c.References {
			if r.Vendor == vendor {
				return true
			}
		}
	}
	return false
}

// listVendors are the vendors behind GET /v1/customers.
func listVendors(s *vendorSims) map[string]*simfault.Injector {
	return map[string]*simfault.Injector{"gdap": s.GDAP.Faults, "crayon": s.Crayon.Faults, "bokamera": s.BokaMera.Faults}
}

func totals(in map[string]*simfault.Injector) map[string]int {
	out := map[string]int{}
	for v, f := range in {
		out[v] = f.TotalCalls()
	}
	return out
}

func delta(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for v := range after {
		out[v] = after[v] - before[v]
	}
	return out
}

func TestReadCacheCoalescesAndNeverCrossesPermissions(t *testing.T) {
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env("GATEWAY_CACHE_TTL", "1m"))
	reader := newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-reader"))
	vendors := listVendors(sims)

	// An admin first: it fetches the gateway's vendor tokens, so what
	// follows counts reads only, and fills the admin's own entries.
	if r := reader.withToken(fetchToken(t, sims.Issuer.URL(), "dev-admin")).do("GET", "/v1/customers", ""); r.Status != 200 {
		t.Fatalf("admin: %d %s", r.Status, r.Body)
	}

	// Slow vendors keep the first load running while the others arrive.
	for _, f := range vendors {
		f.Set(simfault.Fault{LatencyMS: 300})
	}
	const n = 8
	before := totals(vendors)
	answers := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", gw.URL+"/v1/customers", nil)
			req.Header.Set("Authorization", "Bearer "+reader.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return // status 0 fails below
			}
			defer func() { _ = resp.Body.Close() }()
			body, _ := io.ReadAll(resp.Body)
			answers[i] = response{Status: resp.StatusCode, Header: resp.Header, Body: body}
		})
	}
	wg.Wait()
	readers := delta(before, totals(vendors))
	for i, r := range answers {
		if r.Status != 200 {
			t.Fatalf("concurrent request %d: %d %s", i, r.Status, r.Body)
		}
		reader.validate("GET", "/v1/customers", r)
	}
	for _, f := range vendors {
		f.Clear()
	}
	if readers["gdap"] != 1 {
		t.Errorf("%d identical concurrent requests made %d GDAP calls, want 1", n, readers["gdap"])
	}

	// Same permissions, another subject: served from the same entries.
	other, err := sims.Issuer.Sign(map[string]any{"iss": sims.Issuer.URL(), "aud": testAudience, "sub": "another-reader",
		"exp": time.Now().Add(time.Hour).Unix(), "roles": []string{"reader"}})
	if err != nil {
		t.Fatal(err)
	}
	before = totals(vendors)
	if r := reader.withToken(other).do("GET", "/v1/customers", ""); r.Status != 200 {
		t.Fatalf("another reader: %d", r.Status)
	}
	if d := delta(before, totals(vendors)); d["gdap"]+d["crayon"]+d["bokamera"] != 0 {
		t.Errorf("a caller with the same permissions was not served from cache: vendor calls %v", d)
	}

	// Other permissions: never the readers' entries, its own load.
	before = totals(vendors)
	if r := reader.withToken(fetchToken(t, sims.Issuer.URL(), "dev-operator")).do("GET", "/v1/customers", ""); r.Status != 200 {
		t.Fatalf("operator: %d", r.Status)
	}
	operator := delta(before, totals(vendors))
	if operator["gdap"] == 0 || operator["crayon"] == 0 || operator["bokamera"] == 0 {
		t.Fatalf("a caller with other permissions got the cached answer: vendor calls %v", operator)
	}
	t.Logf("vendor calls: %d concurrent readers %v; one operator %v", n, readers, operator)
	// n concurrent readers cost what one operator's load costs.
	if !mapsEqual(readers, operator) {
		t.Errorf("%d concurrent readers made vendor calls %v; one load is %v", n, readers, operator)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestReadCacheServesStaleWhileVendorFails(t *testing.T) {
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env(
		"GATEWAY_RATE_LIMIT", "0", // the polls below are not what is under test
		// The stale window is wide: the checks below all run inside it
		// however slow a busy machine makes each request.
		"GATEWAY_CACHE_TTL", "100ms", "GATEWAY_CACHE_MAX_STALE", "8s",
		"GATEWAY_RETRY_MAX_ATTEMPTS", "1",
		"GATEWAY_BREAKER_MIN_REQUESTS", "3", "GATEWAY_BREAKER_OPEN_FOR", "1m"))
	c := newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-reader"))
	crayon := sims.Crayon.Faults
	get := func() staleList {
		t.Helper()
		r := c.do("GET", "/v1/customers?page_size=200", "")
		if r.Status != 200 {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		var l staleList
		r.JSON(t, &l)
		return l
	}
	// expectStale checks an answer served with Crayon's last good list.
	// cause is what the source's detail must say about Crayon's failure.
	// The source shows Crayon's real status now; the answer is not complete.
	expectStale := func(l staleList, want []string, cause string) {
		t.Helper()
		wantStatus := "error"
		if cause == "circuit open" {
			wantStatus = "unavailable"
		}
		status, stale, detail := l.source(t, "crayon")
		if status != wantStatus || !stale || l.Complete || !strings.Contains(detail, cause) {
			t.Fatalf("crayon source %q stale=%v detail %q, complete=%v; want %s, stale, not complete", status, stale, detail, l.Complete, wantStatus)
		}
		if !slices.Equal(l.ids(), want) || !l.hasVendor("crayon") {
			t.Fatal("the stale answer's customers differ from the last good answer")
		}
		if _, gdapStale, _ := l.source(t, "gdap"); gdapStale {
			t.Fatal("gdap, which answered, is marked stale")
		}
	}

	good := get()
	if _, stale, _ := good.source(t, "crayon"); stale || !good.Complete || !good.hasVendor("crayon") {
		t.Fatalf("healthy answer: %+v", good.Sources)
	}
	want := good.ids()

	crayon.Set(simfault.Fault{Status: 503})
	// Once the TTL passes, Crayon is asked again, fails, and its last
	// good answer stands in.
	var l staleList
	testclock.WaitFor(t, 5*time.Second, 20*time.Millisecond, "a stale answer", func() bool {
		l = get()
		st, stale, _ := l.source(t, "crayon")
		if !stale && st != "ok" {
			t.Fatalf("crayon failure shown (%s) instead of its cached answer", st)
		}
		return stale
	})
	expectStale(l, want, "vendor answered 503")

	// With GATEWAY_RETRY_MAX_ATTEMPTS=1 a failing read reaches Crayon once.
	before := crayon.TotalCalls()
	expectStale(get(), want, "vendor answered 503")
	if n := crayon.TotalCalls() - before; n != 1 {
		t.Errorf("one failing read made %d Crayon calls, want 1 (retries off)", n)
	}

	// The breaker opens after three failures; the stale answer is still
	// served while Crayon is not even called.
	opened := false
	for range 5 {
		before := crayon.TotalCalls()
		l := get()
		if crayon.TotalCalls() == before {
			expectStale(l, want, "circuit open")
			opened = true
			break
		}
		expectStale(l, want, "vendor answered 503")
	}
	if !opened {
		t.Fatal("the breaker never opened")
	}

	// Past TTL + max stale the failure shows.
	testclock.WaitFor(t, 20*time.Second, 50*time.Millisecond, "the failure to show past an 8s max stale age", func() bool {
		l = get()
		status, stale, _ := l.source(t, "crayon")
		if !stale && (l.Complete || l.hasVendor("crayon") || status != "unavailable") {
			t.Fatalf("after the max stale age: crayon %q stale=%v complete=%v", status, stale, l.Complete)
		}
		return !stale
	})
}

func TestTenantReadsServeStale(t *testing.T) {
	sims, c := startTenantGateway(t, "GATEWAY_RATE_LIMIT", "0", "GATEWAY_CACHE_TTL", "50ms", "GATEWAY_CACHE_MAX_STALE", "1m",
		"GATEWAY_RETRY_MAX_ATTEMPTS", "1", "GATEWAY_BREAKER_MIN_REQUESTS", "100")
	type detail struct {
		tenantBody
		Sources []struct {
			Vendor string `json:"vendor"`
			Status string `json:"status"`
			Stale  bool   `json:"stale"`
		} `json:"sources"`
		Complete bool `json:"complete"`
	}
	path := fmt.Sprint("/v1/tenants/", crayonsim.FirstTenantID)
	var good detail
	c.do("GET", path, "").JSON(t, &good)
	if good.GDAP == nil || !good.Complete {
		t.Fatalf("healthy tenant: %+v", good)
	}
	sims.Crayon.Faults.Set(simfault.Fault{Status: 500})
	sims.GDAP.Faults.Set(simfault.Fault{Status: 500})
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		r := c.do("GET", path, "")
		var d detail
		r.JSON(t, &d)
		stale := 0
		for _, s := range d.Sources {
			// Either the cached answer within its TTL (ok), or a stale one
			// that says the vendor now fails.
			if s.Stale && s.Status != "error" || !s.Stale && s.Status != "ok" {
				t.Fatalf("%s: status %s stale %v; want the cached answer, its outage shown: %s", s.Vendor, s.Status, s.Stale, r.Body)
			}
			if s.Stale {
				stale++
			}
		}
		if stale == 2 {
			if r.Status != 200 || d.Name != good.Name || d.GDAP == nil || d.Complete {
				t.Fatalf("stale tenant: %s", r.Body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stale answer within 5s: %s", r.Body)
		}
	}
	// A tenant never read before has nothing to fall back on.
	expectProblem(t, c.do("GET", "/v1/tenants/999999", ""), 502)
}

func TestRateLimitPerSubject(t *testing.T) {
	sims := newVendorSims(t)
	// 0.01/s: once the burst of 2 is spent, no token comes back during
	// the test.
	gw := startRun(t, nil, sims.Env("GATEWAY_RATE_LIMIT", "0.01", "GATEWAY_RATE_BURST", "2"))
	a := newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-reader"))
	b := a.withToken(fetchToken(t, sims.Issuer.URL(), "dev-operator"))

	for i := range 2 {
		if r := a.do("GET", "/v1/roles", ""); r.Status != 200 {
			t.Fatalf("request %d within the burst: %d %s", i+1, r.Status, r.Body)
		}
	}
	r := a.do("GET", "/v1/customers", "")
	p := expectProblem(t, r, 429)
	if ra := r.Header.Get("Retry-After"); ra != "100" {
		t.Errorf("Retry-After = %q, want 100 (one request per 100 s)", ra)
	}
	if !strings.Contains(p.Detail, "0.01 requests per second") {
		t.Errorf("detail %q does not state the limit", p.Detail)
	}
	// B is not limited by A's use.
	if r := b.do("GET", "/v1/roles", ""); r.Status != 200 {
		t.Fatalf("subject B limited by A: %d %s", r.Status, r.Body)
	}
	// Unauthenticated requests are refused as before, not rate limited.
	expectProblem(t, a.withToken("").do("GET", "/v1/roles", ""), 401)

	m := do(t, "GET", gw.URL+"/metrics", "", nil)
	if !strings.Contains(string(m.Body), `gateway_rate_limited_total{route="/v1/customers"} 1`) {
		t.Errorf("/metrics lacks the rate-limited counter:\n%s", grepLines(string(m.Body), "rate_limited"))
	}
}

func TestRateLimitZeroIsOff(t *testing.T) {
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env("GATEWAY_RATE_LIMIT", "0"))
	c := newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-reader"))
	// Bad input never reaches a vendor, so these are cheap; each would be
	// 429 after the first if a limit applied.
	for i := range 30 {
		if r := c.do("GET", "/v1/roles?x=1", ""); r.Status != 400 {
			t.Fatalf("request %d: %d %s", i+1, r.Status, r.Body)
		}
	}
}

func TestDevModeCachesButDoesNotRateLimit(t *testing.T) {
	env, err := startDevEnv(context.Background(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	load := func(vars map[string]string) config.Config {
		t.Helper()
		vars["GATEWAY_DATABASE_URL"] = "sqlite:" + filepath.Join(t.TempDir(), "dev.db")
		getenv, err := env.Getenv(func(k string) string { return vars[k] })
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(getenv)
		if err != nil {
			t.Fatalf("dev config does not load: %v", err)
		}
		return cfg
	}
	cfg := load(map[string]string{})
	if cfg.RateLimit.Enabled() || !cfg.Cache.Enabled() || cfg.Addr != "127.0.0.1:8080" || cfg.Crayon.Timeout != 2*time.Second {
		t.Fatalf("dev defaults: addr %s, rate limit %+v, cache %+v, crayon timeout %v", cfg.Addr, cfg.RateLimit, cfg.Cache, cfg.Crayon.Timeout)
	}
	// The caller's environment wins over dev mode's defaults, but never
	// points a dev gateway away from its simulators.
	cfg = load(map[string]string{"GATEWAY_CACHE_TTL": "0", "GATEWAY_RATE_LIMIT": "7", "GATEWAY_ADDR": "127.0.0.1:0",
		"GATEWAY_CRAYON_BASE_URL": "https://api.crayon.example/", "GATEWAY_CRAYON_PASSWORD_FILE": "/nonexistent"})
	if cfg.Cache.Enabled() || cfg.RateLimit.PerSecond != 7 || cfg.Addr != "127.0.0.1:0" {
		t.Fatalf("environment ignored: addr %s, rate limit %+v, cache %+v", cfg.Addr, cfg.RateLimit, cfg.Cache)
	}
	if cfg.Crayon.BaseURL != env.Env["GATEWAY_CRAYON_BASE_URL"] {
		t.Fatalf("crayon base URL %s, want the simulator's %s", cfg.Crayon.BaseURL, env.Env["GATEWAY_CRAYON_BASE_URL"])
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
