package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHTTPMethodSemantics: 405 says what is allowed, HEAD works wherever GET
// does, OPTIONS answers with Allow.
func TestHTTPMethodSemantics(t *testing.T) {
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env())
	tok := fetchToken(t, sims.Issuer.URL(), "dev-operator")

	r := do(t, "DELETE", gw.URL+"/v1/customers", tok, nil)
	expectProblem(t, r, 405)
	if got := r.Header.Get("Allow"); got != "GET, HEAD, OPTIONS" {
		t.Errorf("405 Allow = %q, want GET, HEAD, OPTIONS", got)
	}
	r = do(t, "PUT", gw.URL+"/v1/licenses", tok, nil)
	expectProblem(t, r, 405)
	if got := r.Header.Get("Allow"); got != "GET, HEAD, POST, OPTIONS" {
		t.Errorf("405 Allow on /v1/licenses = %q", got)
	}

	get := do(t, "GET", gw.URL+"/v1/roles", tok, nil)
	head := do(t, "HEAD", gw.URL+"/v1/roles", tok, nil)
	if get.Status != 200 || head.Status != 200 || len(head.Body) != 0 {
		t.Fatalf("GET %d, HEAD %d with %d body bytes", get.Status, head.Status, len(head.Body))
	}
	if head.Header.Get("Content-Type") != get.Header.Get("Content-Type") {
		t.Errorf("HEAD Content-Type %q, GET %q", head.Header.Get("Content-Type"), get.Header.Get("Content-Type"))
	}
	if r := do(t, "HEAD", gw.URL+"/healthz", "", nil); r.Status != 200 {
		t.Errorf("HEAD /healthz: %d", r.Status)
	}
	if r := do(t, "HEAD", gw.URL+"/v1/roles", "", nil); r.Status != 401 {
		t.Errorf("HEAD without a token: %d, want 401", r.Status)
	}

	r = do(t, "OPTIONS", gw.URL+"/v1/licenses/Contoso/ann", "", nil)
	if r.Status != 204 || r.Header.Get("Allow") != "GET, HEAD, DELETE, OPTIONS" {
		t.Errorf("OPTIONS: %d Allow %q", r.Status, r.Header.Get("Allow"))
	}
	if r := do(t, "OPTIONS", gw.URL+"/v1/nothing", "", nil); r.Status != 404 {
		t.Errorf("OPTIONS on no route: %d, want 404", r.Status)
	}
}

// rawRequest writes head (and then nothing more) on a fresh connection and
// returns the status line and body of the answer.
func rawRequest(t *testing.T, base, head string, wait time.Duration) (status string, hdr http.Header, body string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer within %v: %v", wait, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.Status, resp.Header, string(b)
}

// TestSlowBodyGets408WithinTheRequestBudget: reading the body counts
// against the request budget (1 s here); a body that stops arriving gets a
// 408 problem long before the server's own read timeout.
func TestSlowBodyGets408WithinTheRequestBudget(t *testing.T) {
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env("GATEWAY_REQUEST_TIMEOUT", "1s"))
	tok := fetchToken(t, sims.Issuer.URL(), "dev-operator")
	before := sims.DBSync.Faults.TotalCalls()
	for _, extra := range []string{"", "Idempotency-Key: slow-1\r\n"} {
		head := "POST /v1/licenses HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + tok +
			"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n" + extra + "\r\n" + `{"company":`
		// The body never completes; the answer must come from the 1 s
		// budget, well inside 10 s (the server's read timeout is 15 s).
		status, hdr, body := rawRequest(t, gw.URL, head, 10*time.Second)
		if !strings.HasPrefix(status, "408") || hdr.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, "time budget") {
			t.Errorf("%q: %s %v %s", extra, status, hdr, body)
		}
	}
	if n := sims.DBSync.Faults.TotalCalls() - before; n != 0 {
		t.Errorf("a half-sent body reached DBSync (%d calls)", n)
	}
}

// TestOversizedHeadersGetAProblem: headers over the gateway's limit get a
// 431 problem+json, not Go's plain-text answer.
func TestOversizedHeadersGetAProblem(t *testing.T) {
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env())
	big := strings.Repeat("a", 100<<10)
	head := fmt.Sprintf("GET /healthz HTTP/1.1\r\nHost: gw\r\nX-Big: %s\r\n\r\n", big)
	status, hdr, body := rawRequest(t, gw.URL, head, 10*time.Second)
	if !strings.HasPrefix(status, "431") || hdr.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, `"status":431`) {
		t.Fatalf("%s %v %.200s", status, hdr, body)
	}
	// Below the limit nothing changes.
	status, _, _ = rawRequest(t, gw.URL, "GET /healthz HTTP/1.1\r\nHost: gw\r\nX-Small: "+strings.Repeat("a", 10<<10)+"\r\n\r\n", 10*time.Second)
	if !strings.HasPrefix(status, "200") {
		t.Fatalf("10 KiB header: %s", status)
	}
}
