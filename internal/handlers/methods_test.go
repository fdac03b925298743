package handlers

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/partnerhub/gateway/internal/middleware"
)

// TestEveryGetRouteAnswersHeadAndOptions walks the router: no GET route
// answers HEAD or OPTIONS with 405, and OPTIONS lists the route's methods.
func TestEveryGetRouteAnswersHeadAndOptions(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := middleware.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	h := NewServer(Deps{Log: slog.New(slog.DiscardHandler), Metrics: m, Gatherer: reg, Ready: func() bool { return true }})
	param := regexp.MustCompile(`\{[^}]+\}`)
	gets := 0
	err = chi.Walk(h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if method != http.MethodGet {
			return nil
		}
		gets++
		path := strings.Replace(strings.TrimSuffix(route, "/"), "{file}", "init.js", 1) // a file that exists
		path = param.ReplaceAllString(path, "1")
		for _, probe := range []string{http.MethodHead, http.MethodOptions} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(probe, path, nil))
			if rec.Code == http.StatusMethodNotAllowed || rec.Code == http.StatusNotFound {
				t.Errorf("%s %s: %d", probe, route, rec.Code)
			}
			if probe == http.MethodOptions && (rec.Code != http.StatusNoContent || !strings.Contains(rec.Header().Get("Allow"), "GET, HEAD")) {
				t.Errorf("OPTIONS %s: %d Allow %q", route, rec.Code, rec.Header().Get("Allow"))
			}
		}
		return nil
	})
	if err != nil || gets < 10 {
		t.Fatalf("walked %d GET routes: %v", gets, err)
	}
}
