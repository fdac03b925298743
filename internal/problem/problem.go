// Package problem writes RFC 9457 application/problem+json answers. It is
// the only place error bodies are produced, so every error the gateway sends
// has the same shape: type, title, status, detail, instance (the request id)
// and, for bad input, errors[] with the exact location of each mistake.
package problem

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// ContentType of every error answer.
const ContentType = "application/problem+json"

// TypeBase prefixes problem type URIs; they name the kind of problem.
const TypeBase = "https://gateway.partnerhub.dev/problems/"

// FieldError is one precise input mistake.
type FieldError struct {
	// Location is "body.email", "query.page_size", "path.id" or "header.X".
	Location string `json:"location"`
	// Code is the kind of mistake, for code that reacts to it (a form
	// showing its own text); one of the Code* constants.
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Field error codes: what kind of mistake a FieldError is. The contract
// (FieldError.code) lists exactly these.
const (
	CodeRequired           = "required"            // a required value is missing
	CodeUnknown            = "unknown"             // a parameter or member the operation does not define
	CodeRepeated           = "repeated"            // given more than once
	CodeEmpty              = "empty"               // present but empty where a value is needed
	CodeInvalidType        = "invalid_type"        // the wrong JSON type, or not a number
	CodeInvalidFormat      = "invalid_format"      // not the documented format (UUID, e-mail, date-time, pattern)
	CodeInvalidChoice      = "invalid_choice"      // not one of the allowed values
	CodeTooLong            = "too_long"            // longer than allowed
	CodeTooShort           = "too_short"           // shorter than allowed
	CodeOutOfRange         = "out_of_range"        // a number or time outside the allowed range
	CodeTooMany            = "too_many"            // more items than allowed
	CodeTooFew             = "too_few"             // fewer items than needed
	CodeDuplicate          = "duplicate"           // an item is given twice
	CodeInvalidPageToken   = "invalid_page_token"  // not a token issued for this list and these filters
	CodeExpiredPageToken   = "expired_page_token"  // the token's list is no longer kept
	CodeInvalidCombination = "invalid_combination" // fine alone, but not with another field
	CodeInvalid            = "invalid"             // none of the above
)

// FieldCodes lists every code, in the contract's order.
var FieldCodes = []string{CodeRequired, CodeUnknown, CodeRepeated, CodeEmpty, CodeInvalidType, CodeInvalidFormat,
	CodeInvalidChoice, CodeTooLong, CodeTooShort, CodeOutOfRange, CodeTooMany, CodeTooFew, CodeDuplicate,
	CodeInvalidPageToken, CodeExpiredPageToken, CodeInvalidCombination, CodeInvalid}

// Problem is an error meant for the caller. Err is the private cause: it is
// logged, never sent.
type Problem struct {
	Status   int          `json:"status"`
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Errors   []FieldError `json:"errors,omitempty"`
	Sources  any          `json:"sources,omitempty"`
	// Extensions are the problem type's own members (RFC 9457 section
	// 3.2), such as blocking_job_id; written beside the standard ones,
	// which they cannot replace.
	Extensions map[string]any `json:"-"`
	Header     http.Header    `json:"-"`
	Err        error          `json:"-"`
}

func (p *Problem) Error() string {
	s := fmt.Sprintf("%d %s", p.Status, p.Title)
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	if p.Err != nil {
		s += ": " + p.Err.Error()
	}
	return s
}

func (p *Problem) Unwrap() error { return p.Err }

// New makes a problem whose type slug and title are given.
func New(status int, slug, title, detail string) *Problem {
	return &Problem{Status: status, Type: TypeBase + slug, Title: title, Detail: detail}
}

// BadRequest is a 400 listing every input mistake.
func BadRequest(detail string, errs ...FieldError) *Problem {
	p := New(http.StatusBadRequest, "invalid-request", "Invalid request", detail)
	for i := range errs {
		if errs[i].Code == "" {
			errs[i].Code = CodeInvalid // the contract promises a code on every field error
		}
	}
	p.Errors = errs
	return p
}

// Unauthorized is a 401 with the RFC 6750 challenge. code is "" when no
// token was sent (then no error attribute), else "invalid_token".
func Unauthorized(code, detail string) *Problem {
	p := New(http.StatusUnauthorized, "unauthorized", "Unauthorized", detail)
	challenge := `Bearer realm="gateway"`
	if code != "" {
		challenge += fmt.Sprintf(`, error=%q, error_description=%q`, code, detail)
	}
	p.Header = http.Header{"Www-Authenticate": {challenge}}
	return p
}

// Forbidden is a 403 naming the missing permission.
func Forbidden(permission string) *Problem {
	p := New(http.StatusForbidden, "forbidden", "Forbidden",
		fmt.Sprintf("this operation needs the %q permission, which none of your roles grants", permission))
	p.Header = http.Header{"Www-Authenticate": {fmt.Sprintf(`Bearer realm="gateway", error="insufficient_scope", scope=%q`, permission)}}
	return p
}

// NotFound is a 404.
func NotFound(detail string) *Problem {
	return New(http.StatusNotFound, "not-found", "Not Found", detail)
}

// Unavailable is a 503 with Retry-After.
func Unavailable(detail string, retryAfter time.Duration) *Problem {
	p := New(http.StatusServiceUnavailable, "vendor-unavailable", "Service Unavailable", detail)
	secs := max(int(retryAfter.Round(time.Second)/time.Second), 1)
	p.Header = http.Header{"Retry-After": {strconv.Itoa(secs)}}
	return p
}

// Internal hides err behind a generic 500.
func Internal(err error) *Problem {
	p := New(http.StatusInternalServerError, "internal", "Internal Server Error",
		"the gateway failed unexpectedly; quote the instance id when reporting this")
	p.Err = err
	return p
}

// standardMembers are the members Problem writes itself.
var standardMembers = map[string]bool{"type": true, "title": true, "status": true, "detail": true, "instance": true, "errors": true, "sources": true}

// marshal encodes p with its extension members after the standard ones.
func marshal(p *Problem) ([]byte, error) {
	body, err := json.Marshal(p)
	if err != nil || len(p.Extensions) == 0 {
		return body, err
	}
	names := make([]string, 0, len(p.Extensions))
	for name := range p.Extensions {
		if !standardMembers[name] {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	body = body[:len(body)-1] // the closing brace
	for _, name := range names {
		k, _ := json.Marshal(name)
		v, err := json.Marshal(p.Extensions[name])
		if err != nil {
			return nil, fmt.Errorf("problem member %s: %w", name, err)
		}
		body = append(append(append(append(body, ','), k...), ':'), v...)
	}
	return append(body, '}'), nil
}

// Write sends p, stamping instance with the request id. The body is encoded
// before anything is written, so an encoding failure cannot leave a partial
// answer.
func Write(w http.ResponseWriter, requestID string, p *Problem) {
	if p.Instance == "" && requestID != "" {
		p.Instance = "urn:request:" + requestID
	}
	body, err := marshal(p)
	if err != nil {
		body = []byte(`{"type":"` + TypeBase + `internal","title":"Internal Server Error","status":500}`)
		p.Status = http.StatusInternalServerError
	}
	h := w.Header()
	for k, vs := range p.Header {
		h[k] = vs
	}
	h.Set("Content-Type", ContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}
