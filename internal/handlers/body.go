package handlers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/partnerhub/gateway/internal/problem"
)

// maxBodyBytes bounds every request body; nothing the API accepts is near it.
const maxBodyBytes = 64 << 10

// decodeJSON is the one strict body decoder every write uses: JSON content
// type (415), at most maxBodyBytes (413), the whole body within the
// request's budget (408), and then exactly the operation's object: member
// names match case-sensitively, none unknown, none twice, valid UTF-8, no
// trailing data. Each mistake is reported with its location (body.<field>).
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return problem.New(http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported Media Type",
			"the body must be JSON, sent with Content-Type: application/json")
	}
	body, err := readBody(w, r, http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return problem.New(http.StatusRequestEntityTooLarge, "content-too-large", "Content Too Large",
				fmt.Sprintf("the body must be at most %d bytes", maxBodyBytes))
		}
		p := bodyReadProblem(err)
		p.Err = err
		return p
	}
	return decodeBody(body, dst)
}

// decodeBody is decodeJSON's strict decoding of bytes already read. A body
// that is not well-formed JSON (or not an object) is refused as a whole;
// in a well-formed object every member is decoded on its own, so one
// answer lists every member of the wrong type, unknown or given twice, and
// dst holds the members that were fine (see wellFormed).
func decodeBody(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return bodyField(problem.FieldError{Location: "body", Code: problem.CodeRequired, Message: "is empty; a JSON object is required"})
	}
	members, err := splitObject(body)
	if err != nil {
		return bodyField(bodyErrorField(err))
	}
	// Each member is decoded alone into a fresh value of dst's type with
	// this decoder's defaults: names match exactly, a duplicate name and
	// invalid UTF-8 are errors, unknown members too.
	typ := reflect.TypeOf(dst).Elem()
	var (
		errs []problem.FieldError
		good = []byte{'{'}
	)
	for _, m := range members {
		one := append(append(append([]byte{'{'}, m.name...), ':'), m.value...)
		one = append(one, '}')
		if err := json.Unmarshal(one, reflect.New(typ).Interface(), json.RejectUnknownMembers(true)); err != nil {
			errs = append(errs, bodyErrorField(err))
			continue
		}
		if len(good) > 1 {
			good = append(good, ',')
		}
		good = append(append(append(good, m.name...), ':'), m.value...)
	}
	good = append(good, '}')
	if err := json.Unmarshal(good, dst, json.RejectUnknownMembers(true)); err != nil {
		errs = append(errs, bodyErrorField(err)) // not expected: each member decoded alone
	}
	if len(errs) > 0 {
		return memberErrors{bodyField(errs...)}
	}
	return nil
}

// member is one top-level member of a body: its name as sent (a quoted
// JSON string) and its value.
type member struct {
	name  jsontext.Value
	value jsontext.Value
}

// splitObject checks that body is exactly one well-formed JSON object
// (valid UTF-8, no name twice at any depth, nothing after it) and returns
// its members.
func splitObject(body []byte) ([]member, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	if dec.PeekKind() != '{' {
		if _, err := dec.ReadValue(); err != nil {
			return nil, err
		}
		return nil, errNotObject
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	var members []member
	for dec.PeekKind() != '}' {
		name, err := dec.ReadValue()
		if err != nil {
			return nil, err
		}
		name = bytes.Clone(name)
		value, err := dec.ReadValue()
		if err != nil {
			return nil, err
		}
		members = append(members, member{name, bytes.Clone(value)})
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, errTrailing
	}
	return members, nil
}

var (
	errNotObject = errors.New("not an object")
	errTrailing  = errors.New("data after the object")
)

// memberErrors is the 400 of a well-formed JSON object with some members
// wrong: the others were decoded, so the operation's own checks can still
// run on them and every mistake goes into one answer.
type memberErrors struct{ p *problem.Problem }

func (m memberErrors) Error() string { return m.p.Error() }
func (m memberErrors) Unwrap() error { return m.p }

// wellFormed reports whether a decodeJSON outcome leaves a decoded value
// to check further: no error, or only some members wrong.
func wellFormed(err error) bool {
	var m memberErrors
	return err == nil || errors.As(err, &m)
}

// notUnder drops from the 400 err the field errors at or under a location
// that decodeErr already reports (a member of the wrong type also looks
// missing to the operation's checks).
func notUnder(err, decodeErr error) error {
	var p, dp *problem.Problem
	if err == nil || decodeErr == nil || !errors.As(err, &p) || !errors.As(decodeErr, &dp) || p.Status != http.StatusBadRequest {
		return err
	}
	var keep []problem.FieldError
	for _, fe := range p.Errors {
		covered := false
		for _, d := range dp.Errors {
			if fe.Location == d.Location || strings.HasPrefix(fe.Location, d.Location+".") || strings.HasPrefix(fe.Location, d.Location+"[") {
				covered = true
			}
		}
		if !covered {
			keep = append(keep, fe)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	return problem.BadRequest(p.Detail, keep...)
}

func bodyField(errs ...problem.FieldError) *problem.Problem {
	return problem.BadRequest("the body is not valid for this operation", errs...)
}

// bodyErrorField turns a decoding error into the caller's field error.
func bodyErrorField(err error) problem.FieldError {
	var (
		se  *json.SemanticError
		syn *jsontext.SyntacticError
	)
	fe := func(loc, code, msg string) problem.FieldError {
		return problem.FieldError{Location: loc, Code: code, Message: msg}
	}
	switch {
	case errors.Is(err, errNotObject):
		return fe("body", problem.CodeInvalidType, "must be a JSON object")
	case errors.Is(err, errTrailing):
		return fe("body", problem.CodeInvalid, "has data after the JSON object")
	case errors.As(err, &syn):
		loc := location(syn.JSONPointer)
		switch {
		case errors.Is(syn.Err, jsontext.ErrDuplicateName):
			return fe(loc, problem.CodeRepeated, "is given more than once")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return fe("body", problem.CodeInvalid, "ends in the middle of the JSON value")
		case strings.Contains(syn.Err.Error(), "after top-level value"):
			return fe("body", problem.CodeInvalid, "has data after the JSON object")
		}
		return fe(loc, problem.CodeInvalid, fmt.Sprintf("is not valid JSON (at byte %d)", syn.ByteOffset))
	case errors.As(err, &se):
		loc := location(se.JSONPointer)
		switch {
		case errors.Is(se.Err, json.ErrUnknownName):
			return fe(loc, problem.CodeUnknown, "is not a field of this operation")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return fe("body", problem.CodeInvalid, "ends in the middle of the JSON value")
		case se.GoType != nil && loc == "body":
			return fe("body", problem.CodeInvalidType, "must be a JSON object")
		case se.GoType != nil:
			return fe(loc, problem.CodeInvalidType, "must be a JSON "+jsonKind(se.GoType.Kind().String()))
		}
		return fe(loc, problem.CodeInvalid, "could not be decoded")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fe("body", problem.CodeInvalid, "ends in the middle of the JSON value")
	}
	return fe("body", problem.CodeInvalid, "could not be decoded")
}

// location renders a JSON pointer as the contract's location: body.a.b,
// with array indexes in brackets (body.items[0].name).
func location(p jsontext.Pointer) string {
	var b strings.Builder
	b.WriteString("body")
	for tok := range p.Tokens() {
		if _, err := strconv.ParseUint(tok, 10, 32); err == nil {
			b.WriteString("[" + tok + "]")
			continue
		}
		b.WriteString("." + tok)
	}
	return b.String()
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	}
	return "number"
}

// readBody reads src (r's body) to the end within the request's deadline:
// reading the body counts against the request budget. The connection's
// read deadline is set only while reading, so it never cuts a request
// short afterwards; after a failed read it stays, so the server's own
// draining of the rest cannot hang on a client that keeps dripping.
func readBody(w http.ResponseWriter, r *http.Request, src io.Reader) ([]byte, error) {
	rc := http.NewResponseController(w)
	dl, ok := r.Context().Deadline()
	// Not every ResponseWriter (tests' recorders) has a connection.
	limited := ok && rc.SetReadDeadline(dl) == nil
	body, err := io.ReadAll(src)
	if err == nil && limited {
		_ = rc.SetReadDeadline(time.Time{})
	}
	return body, err
}

// bodyReadProblem is the answer when the body could not be read at all: a
// body still arriving when the request's budget ended is 408, anything
// else (the client broke the framing) 400.
func bodyReadProblem(err error) *problem.Problem {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return problem.New(http.StatusRequestTimeout, "request-timeout", "Request Timeout",
			"the body did not arrive within the request's time budget")
	}
	return problem.BadRequest("the body could not be read", problem.FieldError{Location: "body", Code: problem.CodeInvalid, Message: "could not be read"})
}
