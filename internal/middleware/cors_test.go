package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/middleware"
)

func corsServer(t *testing.T, origins ...string) (http.Handler, *int) {
	t.Helper()
	cors, err := middleware.CORS(middleware.CORSConfig{Origins: origins, MaxAge: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	calls := new(int)
	return cors(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*calls++
		w.Header().Set("Location", "/v1/x")
		w.WriteHeader(http.StatusCreated)
	})), calls
}

func TestCORSPreflightIsAnsweredWithoutReachingTheAPI(t *testing.T) {
	h, calls := corsServer(t, "https://app.example.com", "http://localhost:*")
	for _, origin := range []string{"https://app.example.com", "http://localhost:5173", "http://LOCALHOST:3000"} {
		req := httptest.NewRequest(http.MethodOptions, "/v1/customers", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type, idempotency-key")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		hd := rec.Header()
		if rec.Code != http.StatusNoContent || hd.Get("Access-Control-Allow-Origin") != origin ||
			!strings.Contains(hd.Get("Access-Control-Allow-Headers"), "Idempotency-Key") ||
			!strings.Contains(hd.Get("Access-Control-Allow-Methods"), "DELETE") || hd.Get("Access-Control-Max-Age") != "600" {
			t.Fatalf("preflight from %s: %d %v", origin, rec.Code, hd)
		}
		if hd.Get("Access-Control-Allow-Credentials") != "" {
			t.Fatalf("preflight allows cookies: %v", hd)
		}
	}
	if *calls != 0 {
		t.Fatalf("preflights reached the API %d times", *calls)
	}
}

func TestCORSRefusesOtherOriginsMethodsAndHeaders(t *testing.T) {
	h, calls := corsServer(t, "https://app.example.com")
	cases := []struct{ origin, method, headers, wantType string }{
		{"https://evil.example.com", "GET", "", "cors-origin-not-allowed"},
		{"http://app.example.com", "GET", "", "cors-origin-not-allowed"}, // scheme matters
		{"https://app.example.com:8443", "GET", "", "cors-origin-not-allowed"},
		{"https://app.example.com", "PATCH", "", "cors-method-not-allowed"},
		{"https://app.example.com", "GET", "authorization, x-debug", "cors-header-not-allowed"},
	}
	for _, c := range cases {
		req := httptest.NewRequest(http.MethodOptions, "/v1/customers", nil)
		req.Header.Set("Origin", c.origin)
		req.Header.Set("Access-Control-Request-Method", c.method)
		if c.headers != "" {
			req.Header.Set("Access-Control-Request-Headers", c.headers)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), c.wantType) ||
			rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%+v: %d %s", c, rec.Code, rec.Body)
		}
	}
	// A simple cross-origin request from elsewhere reaches the API (it
	// authenticates as always) but gets no CORS headers, so the browser
	// keeps the answer from the page.
	req := httptest.NewRequest(http.MethodGet, "/v1/customers", nil)
	req.Header.Set("Origin", "https://evil.example.com")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Header().Get("Access-Control-Allow-Origin") != "" || *calls != 1 {
		t.Fatalf("foreign origin: headers %v, calls %d", rec.Header(), *calls)
	}
}

func TestCORSExposesTheHeadersAFrontendReads(t *testing.T) {
	h, _ := corsServer(t, "https://app.example.com")
	req := httptest.NewRequest(http.MethodPost, "/v1/licenses", nil)
	req.Header.Set("Origin", "https://app.example.com")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	exposed := rec.Header().Get("Access-Control-Expose-Headers")
	for _, name := range []string{"Location", "Idempotent-Replayed", "X-Request-Id", "Retry-After", "Link"} {
		if !strings.Contains(exposed, name) {
			t.Errorf("%s not exposed: %q", name, exposed)
		}
	}
	if rec.Code != http.StatusCreated || rec.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(strings.Join(rec.Header().Values("Vary"), ","), "Origin") {
		t.Fatalf("answer: %d %v", rec.Code, rec.Header())
	}
}

func TestCORSWithoutOriginIsUntouched(t *testing.T) {
	h, calls := corsServer(t, "*")
	req := httptest.NewRequest(http.MethodOptions, "/v1/customers", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if *calls != 1 || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("no-origin OPTIONS: calls %d, headers %v", *calls, rec.Header())
	}
}

func TestCORSConfigRejectsWhatIsNotAnOrigin(t *testing.T) {
	for _, bad := range []string{"app.example.com", "https://app.example.com/path", "ftp://x", "https://user@x.example"} {
		if _, err := middleware.CORS(middleware.CORSConfig{Origins: []string{bad}}); err == nil {
			t.Errorf("origin %q accepted", bad)
		}
	}
}
