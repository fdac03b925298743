package upstream

import (
	"context"
	"net/http"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

const tracerName = "github.com/partnerhub/gateway/internal/upstream"

// propagator writes the W3C traceparent on every attempt sent to a vendor.
var propagator = propagation.TraceContext{}

// callTrace counts the attempts of one logical call as they reach the
// transport, so the call's span can say how many went out.
type callTrace struct {
	span     trace.Span
	attempts atomic.Int32
}

type callTraceKey struct{}

// startSpan opens the client span of one logical vendor call (all its
// attempts). The outcome is added by endSpan. A span that is not recorded
// (no tracer, or not sampled) costs no attributes and no bookkeeping.
func (c *Client) startSpan(ctx context.Context, call Call) (context.Context, *callTrace) {
	ctx, span := c.tracer.Start(ctx, c.vendor+" "+call.Op, trace.WithSpanKind(trace.SpanKindClient))
	if !span.IsRecording() {
		return ctx, &callTrace{span: span}
	}
	span.SetAttributes(
		attribute.String("gateway.vendor", c.vendor),
		attribute.String("gateway.operation", call.Op),
		attribute.Bool("gateway.idempotent", call.Idempotent),
	)
	if call.Request != nil {
		span.SetAttributes(attribute.String("http.request.method", call.Request.Method),
			attribute.String("server.address", call.Request.URL.Hostname()))
	}
	ct := &callTrace{span: span}
	return context.WithValue(ctx, callTraceKey{}, ct), ct
}

// endSpan records how the call went: attempts sent, retries among them,
// the breaker's state afterwards and the outcome label of the metrics.
func (c *Client) endSpan(ct *callTrace, outcome string, err error) {
	if !ct.span.IsRecording() {
		ct.span.End()
		return
	}
	n := int(ct.attempts.Load())
	ct.span.SetAttributes(
		attribute.Int("gateway.attempts", n),
		attribute.Int("gateway.retries", max(n-1, 0)),
		attribute.String("gateway.breaker.state", c.BreakerState()),
		attribute.String("gateway.outcome", outcome),
	)
	if err != nil && outcome != "rejected" {
		ct.span.SetStatus(codes.Error, outcome)
		if outcome != "unavailable" { // the breaker or the cap said no: nothing more to tell
			ct.span.RecordError(err)
		}
	}
	ct.span.End()
}

// tracedClient returns a copy of hc whose transport counts each attempt on
// the call's span and sends the trace context to the vendor.
func tracedClient(hc *http.Client) *http.Client {
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	out := *hc
	out.Transport = &tracingTransport{base: base}
	return &out
}

type tracingTransport struct{ base http.RoundTripper }

func (t *tracingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	ct, _ := ctx.Value(callTraceKey{}).(*callTrace)
	if ct != nil {
		n := ct.attempts.Add(1)
		ct.span.AddEvent("attempt", trace.WithAttributes(attribute.Int("gateway.attempt", int(n))))
	}
	// A RoundTripper must not change the caller's request.
	req = req.Clone(ctx)
	propagator.Inject(ctx, propagation.HeaderCarrier(req.Header))
	resp, err := t.base.RoundTrip(req)
	if ct != nil && resp != nil {
		ct.span.AddEvent("response", trace.WithAttributes(attribute.Int("http.response.status_code", resp.StatusCode)))
	}
	return resp, err
}

// CloseIdleConnections reaches the wrapped transport's idle pool.
func (t *tracingTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// tracerFor is tp's tracer, or the global provider's (a no-op unless the
// program set one) when tp is nil.
func tracerFor(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return tp.Tracer(tracerName)
}
