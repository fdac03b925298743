package middleware

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/partnerhub/gateway/internal/problem"
)

// CORSConfig lets browser code on other origins call the API.
type CORSConfig struct {
	// Origins are the allowed origins, exactly as a browser sends them
	// (scheme://host[:port]). A port of "*" allows any port of that host
	// (http://localhost:*, for dev servers); "*" alone allows every origin.
	Origins []string
	// MaxAge is how long a browser may cache a preflight answer.
	MaxAge time.Duration
}

// The methods and request headers the API uses; a preflight asking for
// anything else is refused.
var (
	corsMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete, http.MethodOptions}
	corsHeaders = []string{"Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id",
		"Cache-Control", "If-None-Match", "Traceparent", "Tracestate"}
	// corsExposed are the answer headers browser code may read.
	corsExposed = "Location, Idempotent-Replayed, X-Request-Id, Retry-After, ETag, Link, WWW-Authenticate"
)

// originRule is one allowed origin.
type originRule struct {
	scheme, host, port string // port "*" matches any
}

// CORS answers preflights (before authentication: a browser never sends
// credentials on them) and marks answers to allowed origins readable.
// Requests without an Origin header are untouched. Credentials travel in
// the Authorization header, never in cookies, so answers never set
// Access-Control-Allow-Credentials and the wildcard stays safe.
func CORS(cfg CORSConfig) (func(http.Handler) http.Handler, error) {
	rules, any, err := parseOrigins(cfg.Origins)
	if err != nil {
		return nil, err
	}
	maxAge := strconv.Itoa(int(cfg.MaxAge.Seconds()))
	allowed := func(origin string) bool {
		if any {
			return true
		}
		u, err := url.Parse(origin)
		if err != nil || u.Path != "" || u.RawQuery != "" {
			return false
		}
		for _, r := range rules {
			if u.Scheme == r.scheme && strings.EqualFold(u.Hostname(), r.host) && (r.port == "*" || u.Port() == r.port) {
				return true
			}
		}
		return false
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			if origin == "" {
				next.ServeHTTP(w, r)
				return
			}
			h := w.Header()
			h.Add("Vary", "Origin")
			preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
			if !allowed(origin) {
				if preflight {
					problem.Write(w, RequestID(r.Context()), problem.New(http.StatusForbidden, "cors-origin-not-allowed",
						"Forbidden", fmt.Sprintf("origin %q may not call this API from a browser; ask the operators to add it to GATEWAY_CORS_ORIGINS", origin)))
					return
				}
				next.ServeHTTP(w, r) // the browser withholds the answer from the page
				return
			}
			h.Set("Access-Control-Allow-Origin", origin)
			if !preflight {
				h.Set("Access-Control-Expose-Headers", corsExposed)
				next.ServeHTTP(w, r)
				return
			}
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			if m := r.Header.Get("Access-Control-Request-Method"); !containsFold(corsMethods, m) {
				problem.Write(w, RequestID(r.Context()), problem.New(http.StatusForbidden, "cors-method-not-allowed",
					"Forbidden", fmt.Sprintf("method %q is not used by this API; allowed: %s", m, strings.Join(corsMethods, ", "))))
				return
			}
			for _, name := range strings.Split(r.Header.Get("Access-Control-Request-Headers"), ",") {
				if name = strings.TrimSpace(name); name != "" && !containsFold(corsHeaders, name) {
					problem.Write(w, RequestID(r.Context()), problem.New(http.StatusForbidden, "cors-header-not-allowed",
						"Forbidden", fmt.Sprintf("request header %q is not accepted; allowed: %s", name, strings.Join(corsHeaders, ", "))))
					return
				}
			}
			h.Set("Access-Control-Allow-Methods", strings.Join(corsMethods, ", "))
			h.Set("Access-Control-Allow-Headers", strings.Join(corsHeaders, ", "))
			h.Set("Access-Control-Max-Age", maxAge)
			w.WriteHeader(http.StatusNoContent)
		})
	}, nil
}

// parseOrigins checks the configured origins; "*" means every origin.
func parseOrigins(origins []string) (rules []originRule, any bool, err error) {
	for _, o := range origins {
		o = strings.TrimSpace(o)
		if o == "*" {
			any = true
			continue
		}
		anyPort := strings.HasSuffix(o, ":*")
		u, perr := url.Parse(strings.TrimSuffix(o, ":*"))
		if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return nil, false, fmt.Errorf("CORS origin %q must look like https://app.example.com or http://localhost:*", o)
		}
		port := u.Port()
		if anyPort {
			port = "*"
		}
		rules = append(rules, originRule{scheme: u.Scheme, host: u.Hostname(), port: port})
	}
	return rules, any, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
