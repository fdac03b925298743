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
		name, body, location, code, message string
	}{
		{"case-insensitive name", `{"Company":"a","user":"b"}`, "body.Company", "unknown", "is not a field"},
		{"duplicate key", `{"company":"a","company":"b","user":"c"}`, "body.company", "repeated", "more than once"},
		{"duplicate in nested", `{"company":"a","tags":[{"name":"x","name":"y"}]}`, "body.tags[0].name", "repeated", "more than once"},
		{"unknown field", `{"company":"a","admin":true}`, "body.admin", "unknown", "is not a field"},
		{"wrong type", `{"company":1}`, "body.company", "invalid_type", "must be a JSON string"},
		{"wrong nested type", `{"tags":[{"name":5}]}`, "body.tags[0].name", "invalid_type", "must be a JSON string"},
		{"number expected", `{"count":"7"}`, "body.count", "invalid_type", "must be a JSON number"},
		{"not an object", `[1,2]`, "body", "invalid_type", "must be a JSON object"},
		{"trailing data", `{"company":"a"} {"company":"b"}`, "body", "invalid", "data after"},
		{"trailing garbage", `{"company":"a"}x`, "body", "invalid", "data after"},
		{"truncated", `{"company":"a"`, "body", "invalid", "ends in the middle"},
		{"empty", ``, "body", "required", "is empty"},
		{"invalid utf-8", "{\"company\":\"\xff\"}", "body.company", "invalid", "not valid JSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeString(c.body)
			var p *problem.Problem
			if !errors.As(err, &p) || p.Status != 400 {
				t.Fatalf("err = %v, want a 400 problem", err)
			}
			if len(p.Errors) != 1 || p.Errors[0].Location != c.location || p.Errors[0].Code != c.code || !strings.Contains(p.Errors[0].Message, c.message) {
				t.Fatalf("errors = %+v, want %s %s %q", p.Errors, c.location, c.code, c.message)
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

// TestDecodeJSONReportsEveryMember: a form learns of every wrong member in
// one answer, and the members that were fine are still decoded.
func TestDecodeJSONReportsEveryMember(t *testing.T) {
	got, err := decodeString(`{"company":1,"user":"ann","admin":true,"tags":[{"name":5}],"count":"7"}`)
	var p *problem.Problem
	if !errors.As(err, &p) || p.Status != 400 {
		t.Fatalf("err = %v, want a 400 problem", err)
	}
	want := []problem.FieldError{
		{Location: "body.company", Code: problem.CodeInvalidType},
		{Location: "body.admin", Code: problem.CodeUnknown},
		{Location: "body.tags[0].name", Code: problem.CodeInvalidType},
		{Location: "body.count", Code: problem.CodeInvalidType},
	}
	if len(p.Errors) != len(want) {
		t.Fatalf("errors = %+v, want %d", p.Errors, len(want))
	}
	for i, w := range want {
		if p.Errors[i].Location != w.Location || p.Errors[i].Code != w.Code {
			t.Errorf("errors[%d] = %+v, want %s %s", i, p.Errors[i], w.Location, w.Code)
		}
	}
	if got.User != "ann" || !wellFormed(err) {
		t.Fatalf("good members not decoded: %+v (well-formed %v)", got, wellFormed(err))
	}
}
