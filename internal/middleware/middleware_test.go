package middleware

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// stack is the server's outer stack around a chi router with one route.
func stack(t *testing.T, h http.HandlerFunc) (http.Handler, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(RequestIDMiddleware, AccessLog(log), m.Instrument, Recover(log))
	r.Get("/things/{id}", h)
	return r, &logs
}

func TestRequestIDKeepsOnlySafeIncomingIDs(t *testing.T) {
	h, _ := stack(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(RequestID(r.Context()))) })
	tests := []struct {
		name, incoming string
		kept           bool
	}{
		{"safe id kept", "abc-123_X.y", true},
		{"none sent", "", false},
		{"too long", strings.Repeat("a", 65), false},
		{"log injection", "abc\",\"level\":\"ERROR", false},
		{"spaces", "a b", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/things/1", nil)
			if tc.incoming != "" {
				req.Header.Set(RequestIDHeader, tc.incoming)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Header().Get(RequestIDHeader)
			if got == "" || got != rec.Body.String() {
				t.Fatalf("header %q, handler saw %q", got, rec.Body.String())
			}
			if (got == tc.incoming) != tc.kept {
				t.Fatalf("incoming %q became %q; kept = %v, want %v", tc.incoming, got, got == tc.incoming, tc.kept)
			}
		})
	}
}

func TestAccessLogOneLinePerRequestWithRoutePattern(t *testing.T) {
	h, logs := stack(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	req := httptest.NewRequest("GET", "/things/42?secret=x", nil)
	req.Header.Set("Authorization", "Bearer very-secret-token")
	h.ServeHTTP(httptest.NewRecorder(), req)

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1:\n%s", len(lines), logs)
	}
	var entry map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &entry); err != nil {
		t.Fatal(err)
	}
	if entry["route"] != "/things/{id}" || entry["status"] != float64(418) || entry["request_id"] == "" {
		t.Fatalf("log line lacks route, status or request id: %v", entry)
	}
	if strings.Contains(logs.String(), "very-secret-token") || strings.Contains(logs.String(), "secret=x") {
		t.Fatal("token or query string logged")
	}
}

func TestRecoverTurnsPanicIntoProblem(t *testing.T) {
	h, logs := stack(t, func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/things/1", nil))
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("panic answered %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if strings.Contains(rec.Body.String(), "boom") {
		t.Fatal("panic value leaked to the caller")
	}
	if !strings.Contains(logs.String(), "boom") {
		t.Fatal("panic not logged")
	}
}

// A browser's preflights are answered before routing; they are logged (and
// counted) as "preflight", not mixed into "unmatched" with path scans.
func TestPreflightsGetARouteLabelOfTheirOwn(t *testing.T) {
	var logs bytes.Buffer
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	cors, err := CORS(CORSConfig{Origins: []string{"http://localhost:5173"}})
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(RequestIDMiddleware, AccessLog(slog.New(slog.NewJSONHandler(&logs, nil))), m.Instrument, cors)
	r.Get("/things/{id}", func(http.ResponseWriter, *http.Request) {})

	pre := httptest.NewRequest("OPTIONS", "/things/1", nil)
	pre.Header.Set("Origin", "http://localhost:5173")
	pre.Header.Set("Access-Control-Request-Method", "GET")
	r.ServeHTTP(httptest.NewRecorder(), pre)
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/nothing-here", nil))

	var routes []any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatal(err)
		}
		routes = append(routes, entry["route"])
	}
	if len(routes) != 2 || routes[0] != "preflight" || routes[1] != "unmatched" {
		t.Fatalf("routes logged %v, want [preflight unmatched]", routes)
	}
}
