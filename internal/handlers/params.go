package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/partnerhub/gateway/internal/problem"
)

// query reads query parameters strictly: parameters the operation does not
// define, repeated parameters and malformed values are all collected and
// reported together as one 400 problem naming each parameter.
type query struct {
	values url.Values
	errs   []problem.FieldError
}

func newQuery(r *http.Request, allowed ...string) *query {
	q := &query{values: r.URL.Query()}
	keys := make([]string, 0, len(q.values))
	for k := range q.values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			q.fail(k, problem.CodeUnknown, fmt.Sprintf("unknown parameter; this operation accepts %s", strings.Join(allowed, ", ")))
		} else if len(q.values[k]) > 1 {
			q.fail(k, problem.CodeRepeated, "must be given at most once")
		}
	}
	return q
}

func (q *query) fail(name, code, msg string) {
	q.errs = append(q.errs, problem.FieldError{Location: "query." + name, Code: code, Message: msg})
}

func (q *query) str(name string, maxLen int) string {
	v := q.values.Get(name)
	if len(v) > maxLen {
		q.fail(name, problem.CodeTooLong, fmt.Sprintf("must be at most %d characters", maxLen))
		return ""
	}
	return v
}

func (q *query) enum(name string, allowed ...string) string {
	v := q.values.Get(name)
	if v != "" && !slices.Contains(allowed, v) {
		q.fail(name, problem.CodeInvalidChoice, fmt.Sprintf("must be one of %s", strings.Join(allowed, ", ")))
		return ""
	}
	return v
}

func (q *query) intRange(name string, def, lo, hi int) int {
	v, ok := q.values[name]
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v[0])
	if err != nil || n < lo || n > hi {
		code := problem.CodeOutOfRange
		if err != nil {
			code = problem.CodeInvalidType
		}
		q.fail(name, code, fmt.Sprintf("must be an integer from %d to %d", lo, hi))
		return def
	}
	return n
}

// time reads an optional RFC 3339 date-time.
func (q *query) time(name string) time.Time {
	v := q.values.Get(name)
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		q.fail(name, problem.CodeInvalidFormat, "must be an RFC 3339 date-time such as 2026-01-31T09:00:00Z")
		return time.Time{}
	}
	return t.UTC()
}

// err is the 400 problem, or nil when every parameter was fine.
func (q *query) err() error {
	if len(q.errs) == 0 {
		return nil
	}
	return problem.BadRequest("one or more query parameters are invalid", q.errs...)
}

// optPositiveInt reads an optional positive integer; 0 means absent.
func (q *query) optPositiveInt(name string) int {
	v, ok := q.values[name]
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(v[0])
	if err != nil || n < 1 || n > 1<<31-1 {
		q.fail(name, problem.CodeOutOfRange, "must be a positive integer")
		return 0
	}
	return n
}
