package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/devoidc"
	"github.com/partnerhub/gateway/internal/testclock"
	"github.com/partnerhub/gateway/internal/upstream/bokamera/bokamerasim"
	"github.com/partnerhub/gateway/internal/upstream/crayon/crayonsim"
	"github.com/partnerhub/gateway/internal/upstream/dbsync/dbsyncsim"
	"github.com/partnerhub/gateway/internal/upstream/gdap/gdapsim"
	"github.com/partnerhub/gateway/internal/upstream/simseed"
	"github.com/partnerhub/gateway/internal/upstream/simtest"
)

// syncBuffer is an io.Writer safe for the gateway's goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listeningRE = regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)

// gateway is one run() of the real program on a loopback port.
type gateway struct {
	URL    string
	Stdout *syncBuffer
	Stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// startRun runs the program with args and env and waits until it listens.
func startRun(t *testing.T, args []string, env map[string]string) *gateway {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	g := &gateway{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	getenv := func(k string) string { return env[k] }
	go func() { g.done <- run(ctx, append([]string{"gateway"}, args...), getenv, g.Stdout, g.Stderr) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if m := listeningRE.FindStringSubmatch(g.Stderr.String()); m != nil {
			g.URL = "http://" + m[1]
			break
		}
		select {
		case err := <-g.done:
			cancel()
			t.Fatalf("gateway exited before listening: %v\nlog:\n%s", err, g.Stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("gateway did not listen within 15s; log:\n%s", g.Stderr.String())
		}
	}
	t.Cleanup(func() {
		if err := g.stop(); err != nil {
			t.Errorf("gateway stopped with error: %v", err)
		}
	})
	return g
}

// stop cancels run's context (as SIGTERM would) and waits for it to return.
func (g *gateway) stop() error {
	g.cancel()
	select {
	case err := <-g.done:
		g.done <- err // later calls see the same result
		return err
	case <-time.After(20 * time.Second):
		return fmt.Errorf("run did not return within 20s of cancel")
	}
}

// vendorSims are the four simulators a non-dev gateway is configured for.
type vendorSims struct {
	GDAP     *gdapsim.Server
	BokaMera *bokamerasim.Server
	Crayon   *crayonsim.Server
	DBSync   *dbsyncsim.Server
	Issuer   *devoidc.Issuer
	env      map[string]string
}

// testAudience is the audience test gateways expect.
const testAudience = "gateway-test"

// simOptions configure the simulators of newVendorSimsWith, e.g. to play
// a vendor variant.
type simOptions struct {
	GDAP     gdapsim.Options
	BokaMera bokamerasim.Options
	Crayon   crayonsim.Options
	DBSync   dbsyncsim.Options
}

// newVendorSims starts the simulators and a real OIDC issuer on loopback and
// returns the GATEWAY_* environment that points a gateway at them.
func newVendorSims(t *testing.T) *vendorSims {
	t.Helper()
	return newVendorSimsWith(t, simOptions{})
}

// newVendorSimsWith is newVendorSims with simulator options.
func newVendorSimsWith(t *testing.T, o simOptions) *vendorSims {
	t.Helper()
	s := &vendorSims{}
	var gdapURL, bokaURL, crayonURL, dbsyncURL string
	s.GDAP, gdapURL = simtest.GDAP(t, o.GDAP)
	s.BokaMera, bokaURL = simtest.BokaMera(t, o.BokaMera)
	s.Crayon, crayonURL = simtest.Crayon(t, o.Crayon)
	s.DBSync, dbsyncURL = simtest.DBSync(t, o.DBSync)

	var issuer *devoidc.Issuer
	isrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { issuer.ServeHTTP(w, r) }))
	t.Cleanup(isrv.Close)
	var err error
	issuer, err = devoidc.New(isrv.URL, testAudience, "roles", devoidc.DevClients)
	if err != nil {
		t.Fatal(err)
	}
	s.Issuer = issuer
	bokaRoot := strings.TrimSuffix(bokaURL, "/")
	s.env = map[string]string{
		"GATEWAY_ADDR":                   "127.0.0.1:0",
		"GATEWAY_OIDC_ISSUER":            isrv.URL,
		"GATEWAY_OIDC_AUDIENCE":          testAudience,
		"GATEWAY_GDAP_BASE_URL":          gdapURL,
		"GATEWAY_GDAP_PARTNER_ID":        simseed.PartnerTenantID,
		"GATEWAY_GDAP_TOKEN":             gdapsim.DefaultToken,
		"GATEWAY_BOKAMERA_BASE_URL":      bokaURL,
		"GATEWAY_BOKAMERA_API_KEY":       bokamerasim.DefaultAPIKey,
		"GATEWAY_BOKAMERA_TOKEN_URL":     bokaRoot + bokamerasim.TokenPath,
		"GATEWAY_BOKAMERA_USERNAME":      bokamerasim.DefaultUsername,
		"GATEWAY_BOKAMERA_PASSWORD":      bokamerasim.DefaultPassword,
		"GATEWAY_BOKAMERA_COMPANY_ID":    simseed.BokaMeraCompanyID,
		"GATEWAY_CRAYON_BASE_URL":        crayonURL,
		"GATEWAY_CRAYON_CLIENT_ID":       crayonsim.DefaultClientID,
		"GATEWAY_CRAYON_CLIENT_SECRET":   crayonsim.DefaultClientSecret,
		"GATEWAY_CRAYON_USERNAME":        crayonsim.DefaultUsername,
		"GATEWAY_CRAYON_PASSWORD":        crayonsim.DefaultPassword,
		"GATEWAY_CRAYON_ORGANIZATION_ID": fmt.Sprint(simseed.CrayonOrganizationID),
		"GATEWAY_DBSYNC_BASE_URL":        dbsyncURL,
		"GATEWAY_DBSYNC_APP_KEY":         dbsyncsim.DefaultAppKey,
		"GATEWAY_DBSYNC_APP_TOKEN":       dbsyncsim.DefaultAppToken,
		// Lists fan out per request, so faults injected mid-test show at
		// once; snapshot tests turn snapshots on.
		"GATEWAY_SNAPSHOT_INTERVAL": "0",
		// Each test has its own embedded database.
		"GATEWAY_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "gateway.db"),
	}
	return s
}

// Env is the gateway environment plus overrides.
func (s *vendorSims) Env(overrides ...string) map[string]string {
	env := make(map[string]string, len(s.env))
	for k, v := range s.env {
		env[k] = v
	}
	for i := 0; i+1 < len(overrides); i += 2 {
		env[overrides[i]] = overrides[i+1]
	}
	return env
}

// token fetches an access token from the issuer's token endpoint by the
// client-credentials grant, as a frontend's backend would.
func fetchToken(t *testing.T, issuerURL, client string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	req, _ := http.NewRequest(http.MethodPost, issuerURL+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, client+"-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&tok) != nil || tok.AccessToken == "" {
		t.Fatalf("token endpoint: status %d", resp.StatusCode)
	}
	return tok.AccessToken
}

// response is a decoded answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// waitFor polls cond every 10 ms until it holds (testclock.WaitFor).
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	testclock.WaitFor(t, within, 10*time.Millisecond, what, cond)
}

// do is one request to the gateway as the caller holding token (none when
// empty); headers are name, value pairs. A failure to send fails the test.
// Tests that need the answer checked against api/openapi.yaml use a client
// (openapi_test.go), which sends through here.
func do(t *testing.T, method, url, token string, body io.Reader, headers ...string) response {
	t.Helper()
	r, err := send(http.DefaultClient, method, url, token, body, headers...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// send is the one way the tests make a request; it returns its error, so
// it is safe from any goroutine.
func send(hc *http.Client, method, url, token string, body io.Reader, headers ...string) (response, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return response{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: reading the answer: %w", method, url, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// customerItem mirrors one customer of the public list answer.
type customerItem struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	MicrosoftTenantID string `json:"microsoft_tenant_id"`
	Domain            string `json:"domain"`
	References        []struct {
		Vendor string `json:"vendor"`
		ID     string `json:"id"`
	} `json:"references"`
}

// customerList mirrors the public list answer.
type customerList struct {
	Items         []customerItem `json:"items"`
	NextPageToken string         `json:"next_page_token"`
	Sources       []struct {
		Vendor     string `json:"vendor"`
		Status     string `json:"status"`
		DurationMS int64  `json:"duration_ms"`
		Detail     string `json:"detail"`
	} `json:"sources"`
	Complete bool `json:"complete"`
}

func (l customerList) source(vendor string) (status string, durationMS int64) {
	for _, s := range l.Sources {
		if s.Vendor == vendor {
			return s.Status, s.DurationMS
		}
	}
	return "", 0
}

// problemBody mirrors the RFC 9457 body.
type problemBody struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance"`
	Errors   []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
	} `json:"errors"`
}

func expectProblem(t *testing.T, r response, status int) problemBody {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	var p problemBody
	r.JSON(t, &p)
	if p.Status != status || p.Title == "" || p.Type == "" {
		t.Fatalf("problem body incomplete: %s", r.Body)
	}
	if rid := r.Header.Get("X-Request-Id"); rid == "" || !strings.Contains(p.Instance, rid) {
		t.Fatalf("instance %q does not carry the request id %q", p.Instance, rid)
	}
	return p
}
