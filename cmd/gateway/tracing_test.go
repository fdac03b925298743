package main

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver collects the spans a gateway exports over OTLP/HTTP.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func startOTLPReceiver(t *testing.T) (*otlpReceiver, string) {
	t.Helper()
	rc := &otlpReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := &coltracepb.ExportTraceServiceRequest{}
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(b, req) != nil {
			t.Errorf("bad export to %s", r.URL.Path)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				rc.spans = append(rc.spans, ss.GetSpans()...)
			}
		}
		rc.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return rc, srv.URL
}

// TestTraceFollowsARequestIntoItsVendorCalls: a caller's traceparent is
// continued by the gateway's server span, each vendor call is a child
// client span with its attempts, the spans reach an OTLP collector, and
// the access-log line names the trace.
func TestTraceFollowsARequestIntoItsVendorCalls(t *testing.T) {
	rc, endpoint := startOTLPReceiver(t)
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint, "GATEWAY_CACHE_TTL", "0"))
	const traceID, callerSpan = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	r := do(t, "GET", gw.URL+"/v1/customers", fetchToken(t, sims.Issuer.URL(), "dev-reader"), nil,
		"traceparent", "00-"+traceID+"-"+callerSpan+"-01")
	if r.Status != 200 {
		t.Fatalf("customers: %d %s", r.Status, r.Body)
	}
	if err := gw.stop(); err != nil { // flushes the exporter
		t.Fatal(err)
	}

	rc.mu.Lock()
	defer rc.mu.Unlock()
	var server *tracepb.Span
	clients := map[string]*tracepb.Span{}
	for _, s := range rc.spans {
		if hex.EncodeToString(s.GetTraceId()) != traceID {
			continue
		}
		switch s.GetKind() {
		case tracepb.Span_SPAN_KIND_SERVER:
			server = s
		case tracepb.Span_SPAN_KIND_CLIENT:
			clients[s.GetName()] = s
		}
	}
	if server == nil || server.GetName() != "GET /v1/customers" || hex.EncodeToString(server.GetParentSpanId()) != callerSpan {
		t.Fatalf("no server span for the request under the caller's span; exported: %d spans", len(rc.spans))
	}
	for _, name := range []string{"gdap list_customers", "crayon list_tenants", "bokamera list_customers"} {
		found := clients[name]
		if found == nil {
			t.Errorf("no client span %q in the trace; client spans: %v", name, keys(clients))
			continue
		}
		var attempts int64
		var breaker string
		for _, kv := range found.GetAttributes() {
			switch kv.GetKey() {
			case "gateway.attempts":
				attempts = kv.GetValue().GetIntValue()
			case "gateway.breaker.state":
				breaker = kv.GetValue().GetStringValue()
			}
		}
		if attempts != 1 || breaker != "closed" {
			t.Errorf("%s: attempts %d, breaker %q; want 1 and closed", found.GetName(), attempts, breaker)
		}
	}

	logged := false
	for _, line := range strings.Split(gw.Stderr.String(), "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) == nil && l["msg"] == "request" && l["route"] == "/v1/customers" {
			logged = true
			if l["trace_id"] != traceID {
				t.Errorf("access log trace_id %v, want %s", l["trace_id"], traceID)
			}
		}
	}
	if !logged {
		t.Error("no access-log line for the request")
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
