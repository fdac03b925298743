package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/partnerhub/gateway/internal/testclock"
	"github.com/partnerhub/gateway/internal/upstream/simfault"
)

func TestDevModeBannerCurlWorks(t *testing.T) {
	gw := startRun(t, []string{"-dev"}, map[string]string{"GATEWAY_ADDR": "127.0.0.1:0",
		"GATEWAY_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "dev.db")})
	// The banner's curl line must work as printed.
	m := regexp.MustCompile(`curl -s -H 'Authorization: Bearer ([^']+)' (http://\S+/v1/customers)`).FindStringSubmatch(gw.Stdout.String())
	if m == nil {
		t.Fatalf("no curl line in the dev banner:\n%s", gw.Stdout.String())
	}
	r := do(t, "GET", m[2], m[1], nil)
	if r.Status != 200 {
		t.Fatalf("banner curl: status %d %s", r.Status, r.Body)
	}
	var list customerList
	r.JSON(t, &list)
	if !list.Complete || len(list.Items) == 0 {
		t.Fatalf("dev mode answer incomplete or empty: %+v", list.Sources)
	}
	// The token-endpoint line works too, and its tokens are accepted.
	tm := regexp.MustCompile(`-d grant_type=client_credentials (http://\S+)/token`).FindStringSubmatch(gw.Stdout.String())
	if tm == nil {
		t.Fatal("no token endpoint line in the banner")
	}
	tok := fetchToken(t, tm[1], "dev-reader")
	if r := do(t, "GET", gw.URL+"/v1/customers?page_size=1", tok, nil); r.Status != 200 {
		t.Fatalf("dev-reader token: status %d", r.Status)
	}
}

func TestMissingConfigurationIsOneClearError(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"gateway"}, func(string) string { return "" }, &stdout, &stderr)
	if err == nil {
		t.Fatal("run without configuration and without -dev succeeded")
	}
	for _, name := range []string{"GATEWAY_OIDC_ISSUER", "GATEWAY_OIDC_AUDIENCE", "GATEWAY_GDAP_BASE_URL",
		"GATEWAY_CRAYON_CLIENT_SECRET", "GATEWAY_BOKAMERA_API_KEY", "GATEWAY_DBSYNC_APP_TOKEN"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
}

func TestSecretsAreNotLogged(t *testing.T) {
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env())
	do(t, "GET", gw.URL+"/v1/customers", fetchToken(t, sims.Issuer.URL(), "dev-reader"), nil)
	log := gw.Stderr.String()
	for k, v := range sims.Env() {
		if strings.Contains(k, "SECRET") || strings.Contains(k, "PASSWORD") || strings.Contains(k, "TOKEN") && !strings.HasSuffix(k, "_URL") || strings.Contains(k, "KEY") {
			if strings.Contains(log, v) {
				t.Errorf("%s's value appears in the log", k)
			}
		}
	}
	if !strings.Contains(log, `"msg":"configuration loaded"`) {
		t.Error("configuration is not logged at start-up")
	}
}

func TestPortInUseFailsAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	sims := newVendorSims(t)
	done := make(chan error, 1)
	go func() {
		done <- run(t.Context(), []string{"gateway"}, func(k string) string { return sims.Env("GATEWAY_ADDR", ln.Addr().String())[k] }, &bytes.Buffer{}, &syncBuffer{})
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "listen") {
			t.Fatalf("run = %v, want a listen error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not fail on a port in use")
	}
}

func TestShutdownFinishesInFlightRequests(t *testing.T) {
	sims := newVendorSims(t)
	// No read cache: it would fold the three identical requests into one
	// Crayon call, and this test waits for three.
	gw := startRun(t, nil, sims.Env("GATEWAY_CACHE_TTL", "0"))
	token := fetchToken(t, sims.Issuer.URL(), "dev-reader")
	sims.Crayon.Faults.Set(simfault.Fault{LatencyMS: 600})

	var wg sync.WaitGroup
	statuses := make(chan int, 3)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", gw.URL+"/v1/customers", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			_ = resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	// Wait until all three are inside the gateway, waiting on Crayon: one
	// token request plus three first-page requests.
	waitFor(t, 10*time.Second, "requests reaching Crayon", func() bool { return sims.Crayon.Faults.TotalCalls() >= 4 })
	if err := gw.stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 {
			t.Fatalf("in-flight request ended with %d during shutdown", s)
		}
	}
	if _, err := http.Get(gw.URL + "/healthz"); err == nil {
		t.Fatal("a new connection was accepted after shutdown")
	}
}

func TestOperationsEndpoints(t *testing.T) {
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env())
	token := fetchToken(t, sims.Issuer.URL(), "dev-reader")
	sims.DBSync.Faults.Set(simfault.Fault{Status: 500}) // a vendor down never makes the gateway unready

	for _, p := range []string{"/healthz", "/readyz"} {
		if r := do(t, "GET", gw.URL+p, "", nil); r.Status != 200 {
			t.Errorf("%s: %d", p, r.Status)
		}
	}
	if r := do(t, "GET", gw.URL+"/openapi.yaml", "", nil); r.Status != 200 || !bytes.HasPrefix(r.Body, []byte("openapi: 3.1")) {
		t.Errorf("/openapi.yaml: %d %.40s", r.Status, r.Body)
	}
	expectProblem(t, do(t, "GET", gw.URL+"/v1/nothing-here", token, nil), 404)
	expectProblem(t, do(t, "DELETE", gw.URL+"/v1/customers", token, nil), 405)

	do(t, "GET", gw.URL+"/v1/customers", token, nil)
	do(t, "GET", gw.URL+"/v1/customers", "", nil)
	r := do(t, "GET", gw.URL+"/metrics", "", nil)
	if r.Status != 200 {
		t.Fatalf("/metrics: %d", r.Status)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("exposition does not parse: %v", err)
	}
	has := func(name string, labels map[string]string) bool {
		mf, ok := families[name]
		if !ok {
			return false
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			return true
		}
		return false
	}
	checks := []struct {
		name   string
		labels map[string]string
	}{
		{"gateway_http_requests_total", map[string]string{"route": "/v1/customers", "status": "200", "method": "GET"}},
		{"gateway_http_requests_total", map[string]string{"route": "/v1/customers", "status": "401"}},
		{"gateway_http_request_duration_seconds", map[string]string{"route": "/v1/customers"}},
		{"gateway_upstream_requests_total", map[string]string{"vendor": "crayon", "outcome": "ok"}},
		{"gateway_upstream_requests_total", map[string]string{"vendor": "gdap", "operation": "list_customers"}},
		{"gateway_upstream_request_duration_seconds", map[string]string{"vendor": "bokamera"}},
		{"gateway_upstream_breaker_state", map[string]string{"vendor": "dbsync"}},
		{"gateway_upstream_breaker_state", map[string]string{"vendor": "gdap"}},
	}
	for _, c := range checks {
		if !has(c.name, c.labels) {
			t.Errorf("/metrics lacks %s%v", c.name, c.labels)
		}
	}
	// Raw paths never become labels.
	if strings.Contains(string(r.Body), "nothing-here") {
		t.Error("an unmatched raw path became a metric label")
	}
}

func TestIssuerKeyRotationIsPickedUp(t *testing.T) {
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env("GATEWAY_OIDC_JWKS_MIN_REFRESH", "1s"))
	if r := do(t, "GET", gw.URL+"/v1/customers?page_size=1", fetchToken(t, sims.Issuer.URL(), "dev-reader"), nil); r.Status != 200 {
		t.Fatalf("before rotation: %d", r.Status)
	}
	if err := sims.Issuer.RotateKey(); err != nil {
		t.Fatal(err)
	}
	// A token signed with the new key verifies once the JWKS is refetched:
	// at most one refresh interval (1 s here) after the last fetch.
	tok := fetchToken(t, sims.Issuer.URL(), "dev-reader")
	testclock.WaitFor(t, 15*time.Second, 200*time.Millisecond, "a token of the new key verifying", func() bool {
		r := do(t, "GET", gw.URL+"/v1/customers?page_size=1", tok, nil)
		if r.Status != 200 && r.Status != 401 {
			t.Fatalf("after rotation: %d %s", r.Status, r.Body)
		}
		return r.Status == 200
	})
}
