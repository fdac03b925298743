package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

func TestBrowserOriginsConfiguredForCORS(t *testing.T) {
	sims := newVendorSims(t)
	const app = "https://portal.partner.example"
	gw := startRun(t, nil, sims.Env("GATEWAY_CORS_ORIGINS", app+", http://localhost:*"))

	// The preflight carries no token and still gets its answer.
	pre := do(t, http.MethodOptions, gw.URL+"/v1/licenses", "", nil,
		"Origin", app, "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization,content-type,idempotency-key")
	if pre.Status != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != app {
		t.Fatalf("preflight: %d %v %s", pre.Status, pre.Header, pre.Body)
	}

	// The real call: its answer and the headers a frontend reads are
	// readable by the page.
	token := fetchToken(t, sims.Issuer.URL(), "dev-reader")
	r := do(t, http.MethodGet, gw.URL+"/v1/customers?page_size=2", token, nil, "Origin", "http://localhost:5173")
	if r.Status != http.StatusOK || r.Header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" ||
		!strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), "X-Request-Id") {
		t.Fatalf("cross-origin call: %d %v", r.Status, r.Header)
	}

	// Another site's preflight is refused, saying why.
	bad := do(t, http.MethodOptions, gw.URL+"/v1/customers", "", nil,
		"Origin", "https://evil.example", "Access-Control-Request-Method", "GET")
	if p := expectProblem(t, bad, http.StatusForbidden); !strings.Contains(p.Detail, "GATEWAY_CORS_ORIGINS") {
		t.Fatalf("foreign preflight: %+v", p)
	}
}

func TestInvalidCORSOriginStopsStartUp(t *testing.T) {
	sims := newVendorSims(t)
	env := sims.Env("GATEWAY_CORS_ORIGINS", "portal.partner.example")
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"gateway"}, func(k string) string { return env[k] }, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "GATEWAY_CORS_ORIGINS") {
		t.Fatalf("run = %v, want a GATEWAY_CORS_ORIGINS error", err)
	}
}
