package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/partnerhub/gateway/api"
)

// client calls one test gateway and checks every answer against
// api/openapi.yaml: status documented for the operation, headers and body
// matching their schemas.
type client struct {
	t      *testing.T
	base   string
	token  string
	router routers.Router
}

func newClient(t *testing.T, baseURL, token string) *client {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	// The contract names the dev server; route against this gateway.
	doc.Servers = openapi3.Servers{{URL: baseURL}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, base: baseURL, token: token, router: router}
}

// withToken is the same client acting as another caller.
func (c *client) withToken(token string) *client {
	cc := *c
	cc.token = token
	return &cc
}

// do sends the request (a JSON body when body is a non-empty string) and
// validates the answer. headers are name, value pairs.
func (c *client) do(method, path, body string, headers ...string) response {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
		if !containsHeader(headers, "Content-Type") {
			headers = append(headers, "Content-Type", "application/json")
		}
	}
	r := do(c.t, method, c.base+path, c.token, rd, headers...)
	c.validate(method, path, r)
	return r
}

// specDo is one request to the gateway at base whose answer is checked
// against api/openapi.yaml, for tests that hold a token rather than a client.
func specDo(t *testing.T, base, method, path, token string, headers ...string) response {
	t.Helper()
	return newClient(t, base, token).do(method, path, "", headers...)
}

func containsHeader(h []string, name string) bool {
	for i := 0; i < len(h); i += 2 {
		if strings.EqualFold(h[i], name) {
			return true
		}
	}
	return false
}

func (c *client) validate(method, path string, r response) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		if r.Status == http.StatusNotFound || r.Status == http.StatusMethodNotAllowed {
			return // an undocumented path is expected to be refused
		}
		c.t.Fatalf("%s %s: no operation in api/openapi.yaml: %v", method, path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 r.Status,
		Header:                 r.Header,
		Body:                   io.NopCloser(bytes.NewReader(r.Body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		c.t.Errorf("%s %s answered %d not as api/openapi.yaml says: %v\nbody: %s", method, path, r.Status, err, r.Body)
	}
}
