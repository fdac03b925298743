package docsui

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-chi/chi/v5"

	"github.com/partnerhub/gateway/api"
)

// server serves the docs the way the gateway's router does.
func server(t *testing.T) *httptest.Server {
	t.Helper()
	r := chi.NewRouter()
	r.Get("/docs", Page())
	r.Get("/docs/assets/{file}", Assets())
	r.Get("/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(api.OpenAPI)
	})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

func TestPageAndAssetsCarryTheCSP(t *testing.T) {
	srv := server(t)
	for _, p := range []string{"/docs", "/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/docs/assets/init.js"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP %q", p, csp)
		}
	}
	resp, err := http.Get(srv.URL + "/docs/assets/..%2f..%2fdocsui.go")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("unknown asset: %d %s, want a 404 problem", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestAssetRevalidation(t *testing.T) {
	srv := server(t)
	resp, err := http.Get(srv.URL + "/docs/assets/swagger-ui.css")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	etag := resp.Header.Get("ETag")
	req, _ := http.NewRequest("GET", srv.URL+"/docs/assets/swagger-ui.css", nil)
	req.Header.Set("If-None-Match", etag)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if etag == "" || resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation with ETag %q: %d, want 304", etag, resp.StatusCode)
	}
}

// TestBrowserRendersEveryOperation opens /docs in headless Chromium: Swagger
// UI must render every operation of the contract, with no CSP violation,
// no script error and no request outside the gateway (no CDN).
func TestBrowserRendersEveryOperation(t *testing.T) {
	node, err := exec.LookPath("node")
	chromium := os.Getenv("CHROMIUM_PATH")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	_, chromiumErr := os.Stat(chromium)
	if err != nil || chromiumErr != nil || os.Getenv("NODE_PATH") == "" {
		if os.Getenv("GATEWAY_REQUIRE_TOOLS") != "" {
			t.Fatal("GATEWAY_REQUIRE_TOOLS is set but the browser check lacks node, chromium or NODE_PATH with playwright-core")
		}
		t.Skip("needs node, chromium (apt) and NODE_PATH pointing at an npm install of playwright-core@1.65.1")
	}
	srv := server(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	script, _ := filepath.Abs("testdata/browse.cjs")
	cmd := exec.CommandContext(ctx, node, script, srv.URL)
	cmd.Env = append(os.Environ(), "CHROMIUM_PATH="+chromium)
	cmd.Stderr = os.Stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("browser script: %v\n%s", err, raw)
	}
	var got struct {
		Operations []struct{ Method, Path string }
		Problems   []string
		Foreign    []string
		Expanded   string
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("browser script output: %v\n%s", err, raw)
	}
	for _, p := range got.Problems {
		t.Errorf("in the browser: %s", p)
	}
	for _, u := range got.Foreign {
		t.Errorf("the page requested %s, outside the gateway", u)
	}

	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	var rendered []string
	for _, op := range got.Operations {
		rendered = append(rendered, strings.ToUpper(strings.TrimSpace(op.Method))+" "+op.Path)
	}
	n := 0
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			n++
			if !slices.Contains(rendered, method+" "+path) {
				t.Errorf("the page does not show %s %s", method, path)
			}
		}
	}
	if len(rendered) != n {
		t.Errorf("the page shows %d operations, the contract has %d: %v", len(rendered), n, rendered)
	}
	if !strings.Contains(got.Expanded, "Parameters") && !strings.Contains(got.Expanded, "Responses") {
		t.Errorf("opening an operation showed no parameters or responses: %.300q", got.Expanded)
	}
}
