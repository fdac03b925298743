package config

import (
	"strings"
	"time"
)

// CORS lets browser code on other origins call the API.
type CORS struct {
	// Origins allowed to call from a browser (scheme://host[:port], a
	// port of "*" for any port, "*" for every origin); none turns CORS off.
	Origins []string
	// MaxAge is how long a browser caches a preflight answer.
	MaxAge time.Duration
}

// Enabled reports whether any origin may call from a browser.
func (c CORS) Enabled() bool { return len(c.Origins) > 0 }

// cors reads GATEWAY_CORS_ORIGINS (comma-separated) and
// GATEWAY_CORS_MAX_AGE. The origins' syntax is checked where the
// middleware is built, which knows what an origin is.
func (l *loader) cors() CORS {
	c := CORS{MaxAge: l.duration("GATEWAY_CORS_MAX_AGE", 10*time.Minute)}
	for _, o := range strings.Split(l.get("GATEWAY_CORS_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.Origins = append(c.Origins, o)
		}
	}
	return c
}
