// Package middleware holds the gateway's HTTP middleware: request id, one
// structured access-log line per request, panic recovery, Prometheus
// metrics, OIDC authentication and per-route authorization. Each is a plain
// func(http.Handler) http.Handler; the stack is assembled in one place
// (handlers.NewServer).
package middleware

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/partnerhub/gateway/internal/problem"
)

// RequestIDHeader carries the request id both ways.
const RequestIDHeader = "X-Request-Id"

// entry is the request-scoped record the access log writes at the end; inner
// layers annotate it (the error, the subject) through the context.
type entry struct {
	id      string
	subject string
	err     error
}

type entryKey struct{}

func entryFrom(ctx context.Context) *entry {
	e, _ := ctx.Value(entryKey{}).(*entry)
	return e
}

// RequestID returns the request's id ("" outside a request).
func RequestID(ctx context.Context) string {
	if e := entryFrom(ctx); e != nil {
		return e.id
	}
	return ""
}

// SetError records err for the access-log line (handlers call it for the
// error behind a problem answer).
func SetError(ctx context.Context, err error) {
	if e := entryFrom(ctx); e != nil {
		e.err = err
	}
}

// Err is the error SetError recorded for this request, if any.
func Err(ctx context.Context) error {
	if e := entryFrom(ctx); e != nil {
		return e.err
	}
	return nil
}

func setSubject(ctx context.Context, sub string) {
	if e := entryFrom(ctx); e != nil {
		e.subject = sub
	}
}

// validRequestID accepts an incoming id only if short and made of safe
// characters, so it can go into logs and headers as is.
func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RequestIDMiddleware assigns the request id (keeping a safe incoming one) and echoes
// it on the response. It must be outermost.
func RequestIDMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		ctx := context.WithValue(r.Context(), entryKey{}, &entry{id: id})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// recorder remembers the status and size of what was written.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (rw *recorder) WriteHeader(code int) {
	if rw.status == 0 {
		rw.status = code
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	n, err := rw.ResponseWriter.Write(b)
	rw.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

func (rw *recorder) statusCode(r *http.Request) int {
	if rw.status == 0 {
		// Nothing written: a client that went away (the Nginx 499
		// convention), or a handler that wrote nothing at all.
		if r.Context().Err() != nil {
			return 499
		}
		return http.StatusOK
	}
	return rw.status
}

// routePattern is the matched chi pattern, read after routing finished, so
// metric and log labels stay bounded. CORS answers preflights before
// routing; they get a label of their own, so a browser frontend's
// preflights do not look like a scan of unknown paths ("unmatched").
func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		return "preflight"
	}
	return "unmatched"
}

// AccessLog writes one JSON line per request: method, route, path, status,
// bytes, duration, request id, subject and the error behind a problem.
// Tokens, query strings and bodies are never logged.
func AccessLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &recorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			e := entryFrom(r.Context())
			status := rec.statusCode(r)
			attrs := []slog.Attr{
				slog.String("request_id", e.id),
				slog.String("method", r.Method),
				slog.String("route", routePattern(r)),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Int("bytes", rec.bytes),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			}
			if e.subject != "" {
				attrs = append(attrs, slog.String("subject", e.subject))
			}
			level := slog.LevelInfo
			if e.err != nil {
				attrs = append(attrs, slog.String("error", e.err.Error()))
				if status >= 500 {
					level = slog.LevelError
				}
			}
			log.LogAttrs(r.Context(), level, "request", attrs...)
		})
	}
}

// Recover turns a panic into a 500 problem (when nothing was written yet)
// and records it, with its stack, for the access log.
func Recover(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &recorder{ResponseWriter: w}
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				err := fmt.Errorf("panic: %v", v)
				log.ErrorContext(r.Context(), "panic serving request", "request_id", RequestID(r.Context()),
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				SetError(r.Context(), err)
				if rec.status == 0 {
					problem.Write(rec, RequestID(r.Context()), problem.Internal(err))
				}
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// Metrics are the gateway's own HTTP series.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
}

// NewMetrics registers the HTTP series on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_http_requests_total",
			Help: "HTTP requests served, by method, route pattern and status code.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_http_request_duration_seconds",
			Help:    "HTTP request duration, by method, route pattern and status code.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "status"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gateway_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.inflight} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Instrument records every request by route pattern (never the raw path).
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inflight.Inc()
		defer m.inflight.Dec()
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		method := r.Method
		switch method {
		case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		default:
			method = "OTHER"
		}
		status := strconv.Itoa(rec.statusCode(r))
		route := routePattern(r)
		m.requests.WithLabelValues(method, route, status).Inc()
		m.duration.WithLabelValues(method, route, status).Observe(time.Since(start).Seconds())
	})
}

// LimitHeaderBytes answers 431 (as a problem) when the request line and
// header fields are larger than limit. The http.Server's own, higher limit
// still answers in plain text; this one keeps the contract's format for
// everything between.
func LimitHeaderBytes(limit int) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
			for k, vs := range r.Header {
				for _, v := range vs {
					n += len(k) + len(v) + 4 // ": " and CRLF
				}
			}
			if n > limit {
				p := problem.New(http.StatusRequestHeaderFieldsTooLarge, "header-fields-too-large", "Request Header Fields Too Large",
					fmt.Sprintf("the request line and headers must be at most %d bytes", limit))
				problem.Write(w, RequestID(r.Context()), p)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
