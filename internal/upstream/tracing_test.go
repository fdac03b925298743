package upstream

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	out := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		out[kv.Key] = kv.Value
	}
	return out
}

// A slow or failing answer must be traceable into the vendor call: one
// client span per logical call, saying how many attempts went out, and the
// vendor receiving the trace context on every attempt.
func TestVendorCallSpanCountsAttemptsAndPropagatesTraceparent(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var parents []string
	statuses := []int{503, 502, 200}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		parents = append(parents, r.Header.Get("traceparent"))
		s := statuses[min(len(parents), len(statuses))-1]
		mu.Unlock()
		w.WriteHeader(s)
	}))
	t.Cleanup(srv.Close)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	c, _ := newTestClient(t, Config{TracerProvider: tp, MaxAttempts: 3})

	ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
	if err := get(ctx, c, srv.URL); err != nil {
		t.Fatalf("third attempt should succeed: %v", err)
	}
	parent.End()

	var call sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == "test probe" {
			call = s
		}
	}
	if call == nil {
		t.Fatalf("no span for the vendor call among %d", len(rec.Ended()))
	}
	if call.SpanKind() != trace.SpanKindClient || call.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("call span kind %v parent %v; want a client span under the request", call.SpanKind(), call.Parent().SpanID())
	}
	a := attrs(call)
	if a["gateway.attempts"].AsInt64() != 3 || a["gateway.retries"].AsInt64() != 2 ||
		a["gateway.breaker.state"].AsString() != "closed" || a["gateway.outcome"].AsString() != "ok" || a["gateway.vendor"].AsString() != "test" {
		t.Errorf("span attributes %v", a)
	}
	if call.Status().Code == codes.Error {
		t.Errorf("a call that succeeded on retry is marked failed")
	}
	want := "00-" + call.SpanContext().TraceID().String() + "-" + call.SpanContext().SpanID().String() + "-01"
	mu.Lock()
	defer mu.Unlock()
	if len(parents) != 3 {
		t.Fatalf("%d attempts reached the vendor, want 3", len(parents))
	}
	for i, p := range parents {
		if p != want {
			t.Errorf("attempt %d sent traceparent %q, want %q", i+1, p, want)
		}
	}
}

func TestOpenBreakerCallSpanSaysSo(t *testing.T) {
	t.Parallel()
	srv, _ := statusServer(t, "", 500)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	c, _ := newTestClient(t, Config{TracerProvider: tp, MaxAttempts: 1, Breaker: testBreaker})
	for range testBreaker.MinRequests + 1 {
		_ = get(t.Context(), c, srv.URL)
	}
	spans := rec.Ended()
	last := spans[len(spans)-1]
	a := attrs(last)
	if a["gateway.attempts"].AsInt64() != 0 || a["gateway.breaker.state"].AsString() != "open" ||
		a["gateway.outcome"].AsString() != "unavailable" || last.Status().Code != codes.Error {
		t.Errorf("call refused by the open breaker: status %v, attributes %v", last.Status(), a)
	}
	if first := attrs(spans[0]); first["gateway.attempts"].AsInt64() != 1 || first["gateway.outcome"].AsString() != "error" {
		t.Errorf("first failing call: %v", first)
	}
}

// BenchmarkOpenBreakerTraced is BenchmarkOpenBreaker with every call
// recorded as a span, as in production (spans are made even when not
// exported).
func BenchmarkOpenBreakerTraced(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	m, _ := NewMetrics(prometheus.NewRegistry())
	c, err := New(Config{Vendor: "bench", Timeout: time.Second, MaxAttempts: 1, Breaker: testBreaker,
		TracerProvider: sdktrace.NewTracerProvider()}, m, nil)
	if err != nil {
		b.Fatal(err)
	}
	for range testBreaker.MinRequests {
		_ = get(context.Background(), c, srv.URL)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := get(context.Background(), c, srv.URL); !errors.Is(err, ErrUnavailable) {
			b.Fatal(err)
		}
	}
}
