package middleware

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/partnerhub/gateway/internal/telemetry"
)

func tracedRouter(t *testing.T) (http.Handler, *tracetest.SpanRecorder, *bytes.Buffer) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	var logs bytes.Buffer
	log := slog.New(telemetry.LogHandler(slog.NewJSONHandler(&logs, nil)))
	r := chi.NewRouter()
	r.Use(RequestIDMiddleware, Tracing(tp, telemetry.Propagator), AccessLog(log))
	r.Get("/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		if chi.URLParam(r, "id") == "broken" {
			SetError(r.Context(), errors.New("the thing's store is down"))
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	return r, rec, &logs
}

func accessLine(t *testing.T, logs *bytes.Buffer) map[string]any {
	t.Helper()
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &line); err != nil {
		t.Fatalf("access log %q: %v", logs.String(), err)
	}
	return line
}

func TestServerSpanContinuesCallersTrace(t *testing.T) {
	h, rec, logs := tracedRouter(t)
	const callerTrace, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req := httptest.NewRequest("GET", "/things/broken", nil)
	req.Header.Set("traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
	h.ServeHTTP(httptest.NewRecorder(), req)

	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	s := spans[0]
	if s.SpanContext().TraceID().String() != callerTrace || s.Parent().SpanID().String() != callerSpan || !s.Parent().IsRemote() {
		t.Errorf("span %v under %v; want it in the caller's trace, under the caller's span", s.SpanContext(), s.Parent())
	}
	if s.Name() != "GET /things/{id}" || s.SpanKind() != trace.SpanKindServer {
		t.Errorf("span %q kind %v; want the route pattern, server kind", s.Name(), s.SpanKind())
	}
	a := map[string]string{}
	for _, kv := range s.Attributes() {
		a[string(kv.Key)] = kv.Value.String()
	}
	if a["http.route"] != "/things/{id}" || a["http.response.status_code"] != "503" || a["gateway.request_id"] == "" {
		t.Errorf("attributes %v", a)
	}
	if s.Status().Code != codes.Error || !strings.Contains(s.Status().Description, "store is down") {
		t.Errorf("status %+v; a 5xx must mark the span failed with its error", s.Status())
	}

	line := accessLine(t, logs)
	if line["trace_id"] != callerTrace || line["span_id"] != s.SpanContext().SpanID().String() {
		t.Errorf("access log trace_id %v span_id %v; want the request's trace and span", line["trace_id"], line["span_id"])
	}
	if line["request_id"] != a["gateway.request_id"] {
		t.Errorf("request id %v in the log, %v on the span", line["request_id"], a["gateway.request_id"])
	}
}

func TestRequestWithoutTraceparentStartsATrace(t *testing.T) {
	h, rec, logs := tracedRouter(t)
	req := httptest.NewRequest("GET", "/things/1", nil)
	req.Header.Set("traceparent", "not-a-traceparent")
	h.ServeHTTP(httptest.NewRecorder(), req)
	spans := rec.Ended()
	if len(spans) != 1 || spans[0].Parent().IsValid() || spans[0].Status().Code == codes.Error {
		t.Fatalf("want one healthy root span, got %d", len(spans))
	}
	if got := accessLine(t, logs)["trace_id"]; got != spans[0].SpanContext().TraceID().String() {
		t.Errorf("access log trace_id %v, span's %v", got, spans[0].SpanContext().TraceID())
	}
}
