package api_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/partnerhub/gateway/api"
)

// TestContractDeclaresWhatTheGatewaySends keeps the contract honest for
// generated clients: every /v1 operation lists every status the gateway's
// middleware can answer it with, every error has a problem body, and the
// headers callers read are declared.
func TestContractDeclaresWhatTheGatewaySends(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			codes := op.Responses.Map()
			var want []string
			if strings.HasPrefix(path, "/v1/") {
				// Every /v1 request: bad query or path parameters,
				// authentication, authorization, both rate limits, header
				// limits and the recovery of a panic.
				want = []string{"400", "401", "403", "429", "431", "500"}
				if method == "GET" {
					want = append(want, "304") // every 200 carries an ETag
				}
				if op.RequestBody != nil {
					want = append(want, "408", "413", "415") // a body arrives too late, too large, or not as JSON
				}
			}
			for _, code := range want {
				if codes[code] == nil {
					t.Errorf("%s: status %s is not declared", name, code)
				}
			}
			for code, ref := range codes {
				resp := ref.Value
				if resp.Headers["X-Request-Id"] == nil {
					t.Errorf("%s %s: X-Request-Id not declared", name, code)
				}
				switch {
				case code >= "400" && path != "/readyz": // /readyz answers its status document
					if resp.Content.Get("application/problem+json") == nil {
						t.Errorf("%s %s: no application/problem+json body", name, code)
					}
				case code == "304", code == "204":
					if len(resp.Content) != 0 {
						t.Errorf("%s %s: declares a body", name, code)
					}
				default:
					if len(resp.Content) == 0 {
						t.Errorf("%s %s: declares no body", name, code)
					}
				}
				if slices.Contains([]string{"429", "503"}, code) && resp.Headers["Retry-After"] == nil {
					t.Errorf("%s %s: Retry-After not declared", name, code)
				}
				if code == "202" && resp.Headers["Location"] == nil {
					t.Errorf("%s %s: Location not declared", name, code)
				}
				if strings.HasPrefix(path, "/v1/") && (method == "POST" || method == "DELETE") && code[0] == '2' &&
					resp.Headers["Idempotent-Replayed"] == nil {
					t.Errorf("%s %s: Idempotent-Replayed not declared", name, code)
				}
			}
		}
	}
}
