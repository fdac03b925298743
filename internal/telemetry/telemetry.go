// Package telemetry sets up OpenTelemetry tracing from the standard OTEL_*
// environment and carries the trace id into the logs.
//
// Spans are always made, so every request has a trace id to log and to
// pass on to the vendors in a W3C traceparent header; they are exported
// over OTLP/HTTP only when an exporter is configured:
//
//	OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT  the collector
//	OTEL_TRACES_EXPORTER        otlp (the default once an endpoint is set) or none
//	OTEL_EXPORTER_OTLP_PROTOCOL http/protobuf, the only one supported
//	OTEL_EXPORTER_OTLP_HEADERS  (and _TRACES_HEADERS) k=v,k2=v2, e.g. an API key
//	OTEL_SERVICE_NAME           service.name (default "gateway")
//	OTEL_SDK_DISABLED=true      no spans at all; an incoming traceparent is still passed on
//
// The exporter also honours the other OTEL_EXPORTER_OTLP_* settings
// (timeout, compression, certificates) and the SDK the OTEL_TRACES_SAMPLER
// and OTEL_BSP_* ones, read from the process environment.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Propagator is the wire format of trace context, in both directions:
// W3C Trace Context (traceparent, tracestate).
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// Tracing is the configured tracer provider.
type Tracing struct {
	Provider trace.TracerProvider
	// Endpoint is where spans are exported; "" when they are not.
	Endpoint string
	shutdown func(context.Context) error
}

// Shutdown exports the spans still buffered and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t.shutdown == nil {
		return nil
	}
	return t.shutdown(ctx)
}

// Setup builds the tracer provider from getenv (see the package comment).
// version becomes service.version.
func Setup(ctx context.Context, getenv func(string) string, version string) (*Tracing, error) {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return &Tracing{Provider: noop.NewTracerProvider()}, nil
	}
	name := strings.TrimSpace(getenv("OTEL_SERVICE_NAME"))
	if name == "" {
		name = "gateway"
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		attribute.String("service.name", name),
		attribute.String("service.version", version),
	))
	if err != nil {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	endpoint, err := exportEndpoint(getenv)
	if err != nil {
		return nil, err
	}
	if endpoint == "" {
		// Spans are made (trace ids for logs and vendors), never exported.
		return &Tracing{Provider: sdktrace.NewTracerProvider(sdktrace.WithResource(res))}, nil
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(endpoint)}
	if h, err := headers(getenv); err != nil {
		return nil, err
	} else if len(h) > 0 {
		opts = append(opts, otlptracehttp.WithHeaders(h))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(exp))
	return &Tracing{Provider: tp, Endpoint: redactURL(endpoint), shutdown: tp.Shutdown}, nil
}

// exportEndpoint is the OTLP/HTTP traces URL, or "" when export is off.
func exportEndpoint(getenv func(string) string) (string, error) {
	env := func(k string) string { return strings.TrimSpace(getenv(k)) }
	exporter := strings.ToLower(env("OTEL_TRACES_EXPORTER"))
	traces, base := env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), env("OTEL_EXPORTER_OTLP_ENDPOINT")
	switch exporter {
	case "none":
		return "", nil
	case "":
		if traces == "" && base == "" {
			return "", nil
		}
	case "otlp":
	default:
		return "", fmt.Errorf("OTEL_TRACES_EXPORTER=%q: only otlp and none are supported", exporter)
	}
	protocol := env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = env("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if protocol != "" && protocol != "http/protobuf" {
		return "", fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: only http/protobuf is supported", protocol)
	}
	// The signal-specific URL is used as is; the base one gets the
	// signal's path, as the OTLP exporter specification says.
	u := traces
	if u == "" {
		u = base
		if u == "" {
			u = "http://localhost:4318"
		}
		u = strings.TrimSuffix(u, "/") + "/v1/traces"
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return "", fmt.Errorf("OTLP traces endpoint %q is not an http(s) URL", redactURL(u))
	}
	return u, nil
}

// headers parses OTEL_EXPORTER_OTLP_HEADERS and _TRACES_HEADERS (the
// latter wins): comma-separated key=value pairs, URL-encoded.
func headers(getenv func(string) string) (map[string]string, error) {
	out := map[string]string{}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		for _, pair := range strings.Split(getenv(name), ",") {
			if strings.TrimSpace(pair) == "" {
				continue
			}
			k, v, ok := strings.Cut(pair, "=")
			key, err1 := url.PathUnescape(strings.TrimSpace(k))
			val, err2 := url.PathUnescape(strings.TrimSpace(v))
			if !ok || key == "" || errors.Join(err1, err2) != nil {
				// The value may be a secret: name only the key.
				return nil, fmt.Errorf("%s: entry %q is not key=value", name, strings.TrimSpace(k))
			}
			out[key] = val
		}
	}
	return out, nil
}

// redactURL drops user info and query, which may carry credentials.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}
