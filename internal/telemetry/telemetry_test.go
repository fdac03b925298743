package telemetry

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// receiver is a minimal OTLP/HTTP traces endpoint on loopback: it decodes
// each protobuf export request as a collector would.
type receiver struct {
	URL string
	mu  sync.Mutex
	got []*coltracepb.ExportTraceServiceRequest
	hdr []http.Header
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("export %s %s (%s), want POST /v1/traces protobuf", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				t.Error(err)
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		req := &coltracepb.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(b, req); err != nil {
			t.Errorf("export body does not decode: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		rc.got = append(rc.got, req)
		rc.hdr = append(rc.hdr, r.Header.Clone())
		rc.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL
	return rc
}

// spans lists "name service.name" of every exported span.
func (rc *receiver) spans() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, req := range rc.got {
		for _, rs := range req.GetResourceSpans() {
			svc := ""
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.GetKey() == "service.name" {
					svc = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					out = append(out, s.GetName()+" "+svc)
				}
			}
		}
	}
	return out
}

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestExportsOverOTLPHTTPWhenAnEndpointIsSet(t *testing.T) {
	rc := newReceiver(t)
	tr, err := Setup(t.Context(), env("OTEL_EXPORTER_OTLP_ENDPOINT", rc.URL, "OTEL_SERVICE_NAME", "gw-test",
		"OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s%3Dcret"), "v9.9.9")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Endpoint != rc.URL+"/v1/traces" {
		t.Errorf("Endpoint = %q", tr.Endpoint)
	}
	_, span := tr.Provider.Tracer("test").Start(context.Background(), "GET /v1/customers")
	span.End()
	if err := tr.Shutdown(t.Context()); err != nil { // flushes the batch
		t.Fatal(err)
	}
	if got := rc.spans(); len(got) != 1 || got[0] != "GET /v1/customers gw-test" {
		t.Fatalf("receiver got %v", got)
	}
	if h := rc.hdr[0].Get("X-Api-Key"); h != "s=cret" {
		t.Errorf("header x-api-key = %q", h)
	}
}

func TestNoExportUnlessConfigured(t *testing.T) {
	rc := newReceiver(t)
	for name, getenv := range map[string]func(string) string{
		"nothing set":            env(),
		"exporter none":          env("OTEL_TRACES_EXPORTER", "none", "OTEL_EXPORTER_OTLP_ENDPOINT", rc.URL),
		"SDK disabled":           env("OTEL_SDK_DISABLED", "true", "OTEL_EXPORTER_OTLP_ENDPOINT", rc.URL),
		"only OTEL_SERVICE_NAME": env("OTEL_SERVICE_NAME", "x"),
	} {
		tr, err := Setup(t.Context(), getenv, "dev")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, span := tr.Provider.Tracer("test").Start(context.Background(), "op")
		// Spans still get ids (for logs and vendors) unless the SDK is off.
		if name != "SDK disabled" && !span.SpanContext().IsValid() {
			t.Errorf("%s: span without a trace id", name)
		}
		span.End()
		if err := tr.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		if tr.Endpoint != "" {
			t.Errorf("%s: exporting to %q", name, tr.Endpoint)
		}
	}
	if got := rc.spans(); len(got) != 0 {
		t.Errorf("spans exported without being asked: %v", got)
	}
}

func TestUnsupportedSettingsAreRefused(t *testing.T) {
	for _, tc := range []struct {
		getenv func(string) string
		want   string
	}{
		{env("OTEL_TRACES_EXPORTER", "zipkin"), "only otlp and none"},
		{env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"), "only http/protobuf"},
		{env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4318"), "not an http(s) URL"},
		{env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318", "OTEL_EXPORTER_OTLP_HEADERS", "api-key"), "not key=value"},
	} {
		_, err := Setup(t.Context(), tc.getenv, "dev")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
}

func TestLogHandlerAddsTraceIDOnlyWithASpan(t *testing.T) {
	tr, err := Setup(t.Context(), env(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	ctx, span := tr.Provider.Tracer("test").Start(context.Background(), "op")
	log.InfoContext(ctx, "inside")
	span.End()
	log.Info("outside")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"trace_id":"`+span.SpanContext().TraceID().String()+`"`) ||
		!strings.Contains(lines[0], `"component":"test"`) || strings.Contains(lines[1], "trace_id") {
		t.Errorf("log lines:\n%s", buf.String())
	}
}
