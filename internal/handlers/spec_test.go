package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/partnerhub/gateway/api"
	"github.com/partnerhub/gateway/internal/middleware"
	"github.com/partnerhub/gateway/internal/problem"
)

// loadSpec parses and validates api/openapi.yaml.
func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatalf("api/openapi.yaml does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("api/openapi.yaml is not valid: %v", err)
	}
	return doc
}

// TestRoutesMatchSpec proves the router and the contract agree both ways:
// every route is documented, and every documented operation is routed.
func TestRoutesMatchSpec(t *testing.T) {
	doc := loadSpec(t)
	reg := prometheus.NewRegistry()
	m, err := middleware.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	h := NewServer(Deps{Log: slog.New(slog.DiscardHandler), Metrics: m, Gatherer: reg})

	var routed []string
	err = chi.Walk(h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = strings.TrimSuffix(route, "/")
		if route == "" {
			route = "/"
		}
		routed = append(routed, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	for _, r := range routed {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in api/openapi.yaml", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routed, d) {
			t.Errorf("api/openapi.yaml documents %s, which no route serves", d)
		}
	}
	if len(routed) < 6 {
		t.Fatalf("only %d routes found; walking the router failed", len(routed))
	}
}

// TestFieldCodesMatchSpec keeps the field error codes the gateway sends and
// the ones the contract lists the same, so a generated client's union type
// covers every code it can receive.
func TestFieldCodesMatchSpec(t *testing.T) {
	doc := loadSpec(t)
	var inSpec []string
	for _, v := range doc.Components.Schemas["FieldError"].Value.Properties["code"].Value.Enum {
		inSpec = append(inSpec, v.(string))
	}
	if !slices.Equal(inSpec, problem.FieldCodes) {
		t.Errorf("FieldError.code enum in api/openapi.yaml = %v, problem.FieldCodes = %v", inSpec, problem.FieldCodes)
	}
	// A field error built without a code still carries one.
	p := problem.BadRequest("x", problem.FieldError{Location: "query.x", Message: "m"})
	if p.Errors[0].Code != problem.CodeInvalid {
		t.Errorf("code of an uncoded field error = %q, want %q", p.Errors[0].Code, problem.CodeInvalid)
	}
}
