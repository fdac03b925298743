package handlers

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/partnerhub/gateway/api"
)

// handleHealthz (operationId getHealthz): the process is alive.
func handleHealthz() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_ = respond(w, http.StatusOK, map[string]string{"status": "ok"})
	}
}

// handleReadyz (operationId getReadyz): the gateway can take traffic. A
// vendor being down does not make it unready (that shows in sources and in
// breaker metrics); draining for shutdown does.
func handleReadyz(ready func() bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ready != nil && !ready() {
			w.Header().Set("Retry-After", "5")
			_ = respond(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
			return
		}
		_ = respond(w, http.StatusOK, map[string]string{"status": "ready"})
	}
}

// handleOpenAPI (operationId getOpenAPI) serves the contract.
func handleOpenAPI() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Header().Set("Content-Length", fmt.Sprint(len(api.OpenAPI)))
		_, _ = w.Write(api.OpenAPI)
	}
}

// slogAdapter lets promhttp report exposition errors through slog.
type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) Println(v ...any) { a.log.Error("metrics exposition", "error", fmt.Sprint(v...)) }
