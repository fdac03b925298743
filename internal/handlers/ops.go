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

// handleDocs (operationId getDocs) is a browsable page over the contract.
// It is self-contained (no CDN), since the gateway often runs where the
// internet is not reachable.
func handleDocs() http.HandlerFunc {
	page := []byte(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gateway API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
pre{background:#f6f8fa;padding:1rem;overflow:auto;font-size:13px}</style></head>
<body><h1>Customer / tenant / license gateway</h1>
<p>The contract is <a href="/openapi.yaml">/openapi.yaml</a> (OpenAPI 3.1). Every <code>/v1</code>
operation needs <code>Authorization: Bearer &lt;token&gt;</code>.</p>
<pre id="spec">loading…</pre>
<script>fetch('/openapi.yaml').then(r=>r.text()).then(t=>{document.getElementById('spec').textContent=t})</script>
</body></html>
`)
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'")
		_, _ = w.Write(page)
	}
}
