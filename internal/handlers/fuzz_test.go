package handlers

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/partnerhub/gateway/internal/problem"
)

// What callers control, fuzzed: every input is either accepted or refused
// with a 400 naming a location of the right kind, never a panic.

func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{
		`{"company":"Contoso","user":"ann"}`, `{"company":"a","company":"b"}`, `{"Company":"a"}`,
		`{"tags":[{"name":"x"}]}`, `{"count":1e400}`, `[]`, `null`, `{"company":"\ud800"}`, "{\"company\":\"\xff\"}",
		`{"company":"a"} x`, `{`, ``, `{"tags":[{"name":"x","name":"y"}]}`, `{"a":{"b":{"c":[1,2,{"d":null}]}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var dst sampleBody
		err := decodeBody(body, &dst)
		if err == nil {
			return
		}
		var p *problem.Problem
		if !errors.As(err, &p) || p.Status != http.StatusBadRequest || len(p.Errors) == 0 {
			t.Fatalf("body %q: %v (%+v)", body, err, p)
		}
		for _, fe := range p.Errors {
			if !strings.HasPrefix(fe.Location, "body") || fe.Code == "" {
				t.Fatalf("body %q: field error %+v", body, fe)
			}
		}
	})
}

func FuzzQueryParameters(f *testing.F) {
	for _, s := range []string{
		"q=contoso&vendor=gdap&page_size=50", "page_size=0", "page_size=99999999999999999999", "from=2026-01-31T09:00:00Z",
		"from=yesterday", "q=a&q=b", "unknown=1", "%zz", "page_size=%2B5", "q=" + strings.Repeat("a", 300), ";;&&==",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		r := httptest.NewRequest(http.MethodGet, "/v1/customers", nil)
		r.URL.RawQuery = rawQuery
		q := newQuery(r, "q", "vendor", "page_size", "page_token", "from", "n")
		_ = q.str("q", 200)
		_ = q.enum("vendor", "gdap", "crayon", "bokamera")
		if n := q.intRange("page_size", 50, 1, 200); n < 1 || n > 200 {
			t.Fatalf("page_size %d out of range", n)
		}
		_ = q.time("from")
		if n := q.optPositiveInt("n"); n < 0 {
			t.Fatalf("optPositiveInt = %d", n)
		}
		err := q.err()
		if err == nil {
			return
		}
		var p *problem.Problem
		if !errors.As(err, &p) || p.Status != http.StatusBadRequest || len(p.Errors) == 0 {
			t.Fatalf("%q: %v", rawQuery, err)
		}
		for _, fe := range p.Errors {
			if !strings.HasPrefix(fe.Location, "query.") {
				t.Fatalf("%q: location %q", rawQuery, fe.Location)
			}
		}
	})
}

// idempotencyKeyPattern is the contract's schema for Idempotency-Key.
var idempotencyKeyPattern = regexp.MustCompile(`^[!-~]{1,255}$`)

func FuzzIdempotencyKey(f *testing.F) {
	for _, s := range []string{"k1", "a b", strings.Repeat("x", 255), strings.Repeat("x", 256), "é", "\x00", "key\r\n", "~!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if key == "" {
			return // absent header: the write runs without a key
		}
		if got, want := validKey(key), idempotencyKeyPattern.MatchString(key); got != want {
			t.Fatalf("validKey(%q) = %v, the contract says %v", key, got, want)
		}
	})
}

func FuzzPathParameters(f *testing.F) {
	rules, err := loadPathRules()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"1", "9999999999", "99999999999", "crayon-1", "ms-3f1c2b8e-5a4d-4c7b-9e21-6d0f8a7b1c01", "%2F", "", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for route, rs := range rules {
			for _, r := range rs {
				msg := r.check(v)
				// A tenant id that passes is at most 10 digits: never an
				// id Crayon cannot hold.
				if msg == "" && r.name == "id" && strings.Contains(route, "/v1/tenants/") && (len(v) > 10 || strings.Trim(v, "0123456789") != "") {
					t.Fatalf("%s accepted tenant id %q", route, v)
				}
				// An agreement id that passes is one the gateway can have
				// derived: 16 lower-case hex digits.
				if msg == "" && r.name == "agreement_id" && (len(v) != 16 || strings.Trim(v, "0123456789abcdef") != "") {
					t.Fatalf("%s accepted agreement id %q", route, v)
				}
			}
		}
	})
}
