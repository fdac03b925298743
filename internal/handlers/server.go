// Package handlers is the gateway's HTTP surface: every route in one place
// (routes.go), strict decoding of input, and the single mapping from errors
// to RFC 9457 problems.
package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/auth"
	"github.com/partnerhub/gateway/internal/middleware"
	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/pagetoken"
	"github.com/partnerhub/gateway/internal/problem"
	"github.com/partnerhub/gateway/internal/telemetry"
)

// Deps is everything the HTTP surface needs, passed explicitly.
type Deps struct {
	Log        *slog.Logger
	Verifier   *auth.Verifier
	Metrics    *middleware.Metrics
	Gatherer   prometheus.Gatherer
	Customers  *aggregate.Customers
	Tenants    *aggregate.Tenants
	Agreements AgreementStore
	Licenses   LicenseManager
	Roles      func(context.Context) ([]model.Role, error)
	// SyncJobs starts GDAP and Axema syncs and reports their state.
	SyncJobs SyncJobs
	// Idempotency remembers write answers by Idempotency-Key; nil turns
	// the header off.
	Idempotency IdempotencyStore
	// Audit records every write before it reaches a vendor and serves
	// GET /v1/audit-events.
	Audit          AuditStore
	PageTokens     *pagetoken.Codec
	RequestTimeout time.Duration
	// Ready reports whether the gateway can serve (false while draining).
	Ready func() bool

	// Snapshots serves the customer and tenant lists from memory; nil
	// fans out to the vendors on every request.
	Snapshots *aggregate.Snapshots
	// CustomerViews serves the customer 360 view.
	CustomerViews *aggregate.CustomerViews
	// AuthFailures limits failed authentications per client address,
	// before any token work; nil turns it off.
	AuthFailures *middleware.AuthFailureLimiter
	// RateLimit limits each authenticated caller on /v1; nil turns it off.
	RateLimit func(http.Handler) http.Handler
	// CORS answers browser preflights and marks answers readable by
	// allowed origins; nil turns it off.
	CORS func(http.Handler) http.Handler

	// Subscriptions serves Crayon licence subscriptions.
	Subscriptions *aggregate.Subscriptions
	// GDAPTemplates publishes templates and creates their security groups;
	// Onboarding runs GDAP onboarding jobs.
	GDAPTemplates TemplateGDAP
	Onboarding    Onboarding
	// Tracer makes the server spans; nil makes none (an incoming
	// traceparent is still continued).
	Tracer trace.TracerProvider
}

// NewServer builds the router with the whole middleware stack.
func NewServer(d Deps) http.Handler {
	r := chi.NewRouter()
	// Outermost first: every later layer can use the request id and the
	// trace, every answer (even a panic's) is logged and counted. CORS
	// answers preflights before the method rules and authentication see
	// them: a browser's preflight carries no token.
	r.Use(middleware.RequestIDMiddleware, middleware.Tracing(d.Tracer, telemetry.Propagator),
		middleware.AccessLog(d.Log), d.Metrics.Instrument, middleware.LimitHeaderBytes(MaxHeaderBytes),
		middleware.Recover(d.Log), middleware.Conditional)
	if d.CORS != nil {
		r.Use(d.CORS)
	}
	r.Use(methodSemantics)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, middleware.RequestID(r.Context()), problem.NotFound("no route "+r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		allow := allowedMethods(r)
		p := problem.New(http.StatusMethodNotAllowed, "method-not-allowed", "Method Not Allowed",
			r.Method+" is not supported on "+r.URL.Path+"; allowed: "+strings.Join(allow, ", "))
		p.Header = http.Header{"Allow": {strings.Join(allow, ", ")}}
		problem.Write(w, middleware.RequestID(r.Context()), p)
	})
	addRoutes(r, d)
	return r
}

// MaxHeaderBytes bounds a request's header block; beyond it the answer is a
// 431 problem. The http.Server's own limit must be well above it (its
// answer is plain text).
const MaxHeaderBytes = 64 << 10

// ServerMaxHeaderBytes is what the http.Server is given.
const ServerMaxHeaderBytes = 1 << 20

// probeMethods are the methods a route may serve.
var probeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// allowedMethods lists what the request's path serves (RFC 9110 Allow):
// HEAD with every GET, OPTIONS always.
func allowedMethods(r *http.Request) []string {
	rctx := chi.RouteContext(r.Context())
	if rctx == nil || rctx.Routes == nil {
		return nil
	}
	path := routingPath(r)
	var allow []string
	for _, m := range probeMethods {
		if rctx.Routes.Match(chi.NewRouteContext(), m, path) {
			allow = append(allow, m)
			if m == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
	}
	if len(allow) > 0 {
		allow = append(allow, http.MethodOptions)
	}
	return allow
}

// routingPath is the path chi routes on.
func routingPath(r *http.Request) string {
	if rctx := chi.RouteContext(r.Context()); rctx != nil && rctx.RoutePath != "" {
		return rctx.RoutePath
	}
	if r.URL.RawPath != "" {
		return r.URL.RawPath
	}
	return r.URL.Path
}

// methodSemantics adds what RFC 9110 asks of every resource and chi does
// not do by itself: HEAD is served by the GET route (the server drops the
// body), and OPTIONS answers 204 with Allow.
func methodSemantics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rctx := chi.RouteContext(r.Context())
		switch r.Method {
		case http.MethodHead:
			path := routingPath(r)
			if rctx != nil && !rctx.Routes.Match(chi.NewRouteContext(), http.MethodHead, path) &&
				rctx.Routes.Match(chi.NewRouteContext(), http.MethodGet, path) {
				rctx.RouteMethod = http.MethodGet
			}
		case http.MethodOptions:
			if allow := allowedMethods(r); len(allow) > 0 {
				w.Header().Set("Allow", strings.Join(allow, ", "))
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// withTimeout gives the request its deadline; vendor calls get a share of
// it, and reading the body is bounded by it too (readBody: a body still
// dripping in when the budget ends gets 408).
func withTimeout(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}
