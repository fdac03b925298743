package handlers

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/partnerhub/gateway/internal/problem"
)

type sampleBody struct {
	Company string `json:"company"`
	User    string `json:"user"`
	Email   string `json:"email,omitempty"`
	Tags    []struct {
		Name string `json:"name"`
	} `json:"tags,omitempty"`
	Count int `json:"count,omitempty"`
}

func decodeString(body string) (sampleBody, error) {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	var dst sampleBody
	err := decodeJSON(httptest.NewRecorder(), r, &dst)
	return dst, err
}

// TestDecodeJSONIsStrict: each caller mistake is a 400 naming where it is.
func TestDecodeJSONIsStrict(t *testing.T) {
	for _, c := range []struct {
		name, body, location, message string
	}{
		{"case-insensitive name", `{"Company":"a","user":"b"}`, "body.Company", "is not a field"},
		{"duplicate key", `{"company":"a","company":"b","user":"c"}`, "body.company", "more than once"},
		{"duplicate in nested", `{"company":"a","tags":[{"name":"x","name":"y"}]}`, "body.tags[0].name", "more than once"},
		{"unknown field", `{"company":"a","admin":true}`, "body.admin", "is not a field"},
		{"wrong type", `{"company":1}`, "body.company", "must be a JSON string"},
		{"wrong nested type", `{"tags":[{"name":5}]}`, "body.tags[0].name", "must be a JSON string"},
		{"number expected", `{"count":"7"}`, "body.count", "must be a JSON number"},
		{"not an object", `[1,2]`, "body", "must be a JSON object"},
		{"trailing data", `{"company":"a"} {"company":"b"}`, "body", "data after"},
		{"trailing garbage", `{"company":"a"}x`, "body", "data after"},
		{"truncated", `{"company":"a"`, "body", "ends in the middle"},
		{"empty", ``, "body", "is empty"},
		{"invalid utf-8", "{\"company\":\"\xff\"}", "body.company", "not valid JSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeString(c.body)
			var p *problem.Problem
			if !errors.As(err, &p) || p.Status != 400 {
				t.Fatalf("err = %v, want a 400 problem", err)
			}
			if len(p.Errors) != 1 || p.Errors[0].Location != c.location || !strings.Contains(p.Errors[0].Message, c.message) {
				t.Fatalf("errors = %+v, want %s %q", p.Errors, c.location, c.message)
			}
		})
	}
	got, err := decodeString(" {\"company\":\"Contoso\",\"user\":\"ann\",\"tags\":[{\"name\":\"x\"}]}\n")
	if err != nil || got.Company != "Contoso" || got.User != "ann" || len(got.Tags) != 1 {
		t.Fatalf("valid body: %+v, %v", got, err)
	}
}

func TestDecodeJSONLimits(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"company":"`+strings.Repeat("a", maxBodyBytes)+`"}`))
	r.Header.Set("Content-Type", "application/json")
	var p *problem.Problem
	if err := decodeJSON(httptest.NewRecorder(), r, &sampleBody{}); !errors.As(err, &p) || p.Status != 413 {
		t.Fatalf("oversized: %v", err)
	}
	r = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
	r.Header.Set("Content-Type", "text/plain")
	if err := decodeJSON(httptest.NewRecorder(), r, &sampleBody{}); !errors.As(err, &p) || p.Status != 415 {
		t.Fatalf("text/plain: %v", err)
	}
}
