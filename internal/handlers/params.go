package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/partnerhub/gateway/internal/aggregate"
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
		} else if q.values[k][0] == "" && k != "page_token" {
			// An empty value is not "no filter": leave the parameter out
			// for that. An empty page_token is the first page (AIP-158).
			q.fail(k, problem.CodeEmpty, "must not be empty; leave the parameter out instead")
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

// list reads a comma-separated set of allowed values, without repeats and
// sorted (so equal sets fingerprint alike); nil when absent.
func (q *query) list(name string, allowed ...string) []string {
	v := q.values.Get(name)
	if v == "" {
		return nil
	}
	var out []string
	for s := range strings.SplitSeq(v, ",") {
		if !slices.Contains(allowed, s) {
			q.fail(name, problem.CodeInvalidChoice, "must be one or more (comma-separated) of "+strings.Join(allowed, ", "))
			return nil
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// digits reads an optional id of digits (^[1-9][0-9]{0,9}$), as ids are
// strings everywhere in the API; 0 when absent.
func (q *query) digits(name string) int64 {
	v := q.values.Get(name)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || len(v) > 10 || strconv.FormatInt(n, 10) != v {
		q.fail(name, problem.CodeInvalidFormat, "must be an id of digits such as 1234 (no sign or leading zero, at most 10 digits)")
		return 0
	}
	return n
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

// orderBy reads order_by (AIP-132): a field of fields, optionally followed
// by " desc" (or " asc"); def when absent. Ties are broken by tieBreak, in
// ascending order; further comma-separated terms are accepted when they
// only restate that tie-break ("created_at desc, name").
func (q *query) orderBy(def string, fields, tieBreak []string) aggregate.ListOrder {
	v := q.values.Get("order_by")
	if v == "" {
		return aggregate.ListOrder{Field: def}
	}
	bad := func() aggregate.ListOrder {
		q.fail("order_by", problem.CodeInvalidChoice, fmt.Sprintf("must be one of %s, optionally followed by \" desc\"; ties are broken by %s",
			strings.Join(fields, ", "), strings.Join(tieBreak, ", then ")))
		return aggregate.ListOrder{Field: def}
	}
	var (
		out  aggregate.ListOrder
		tail []string
	)
	for i, term := range strings.Split(v, ",") {
		words := strings.Fields(term)
		if len(words) == 0 || len(words) > 2 || len(words) == 2 && words[1] != "asc" && words[1] != "desc" {
			return bad()
		}
		if i == 0 {
			if !slices.Contains(fields, words[0]) {
				return bad()
			}
			out = aggregate.ListOrder{Field: words[0], Desc: len(words) == 2 && words[1] == "desc"}
			tail = slices.DeleteFunc(slices.Clone(tieBreak), func(f string) bool { return f == out.Field })
			continue
		}
		if len(tail) == 0 || words[0] != tail[0] || len(words) == 2 && words[1] == "desc" {
			return bad()
		}
		tail = tail[1:]
	}
	return out
}
