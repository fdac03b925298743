package middleware

import (
	"net"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// tracerName identifies the gateway's server spans.
const tracerName = "github.com/partnerhub/gateway/internal/middleware"

// Tracing starts one server span per request, continuing the caller's
// trace when it sends a W3C traceparent header. The span is named after the
// route pattern (never the raw path) once routing is done, and carries the
// request id, the status and, for a 5xx, the error behind it. It belongs
// right after RequestIDMiddleware, so the access log sees the span. A nil
// tp makes no spans but still continues an incoming trace.
func Tracing(tp trace.TracerProvider, prop propagation.TextMapPropagator) func(http.Handler) http.Handler {
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	tracer := tp.Tracer(tracerName)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			attrs := []attribute.KeyValue{
				attribute.String("http.request.method", r.Method),
				attribute.String("url.path", r.URL.Path),
				attribute.String("gateway.request_id", RequestID(ctx)),
			}
			if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
				attrs = append(attrs, attribute.String("client.address", host))
			}
			if ua := r.UserAgent(); ua != "" {
				attrs = append(attrs, attribute.String("user_agent.original", ua))
			}
			ctx, span := tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
			defer span.End()
			rec := &recorder{ResponseWriter: w}
			r = r.WithContext(ctx)
			next.ServeHTTP(rec, r)

			route := routePattern(r)
			status := rec.statusCode(r)
			span.SetName(r.Method + " " + route)
			span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", status))
			if status >= 500 {
				msg := http.StatusText(status)
				if err := Err(ctx); err != nil {
					msg = err.Error()
				}
				span.SetStatus(codes.Error, msg)
			}
		})
	}
}
