package handlers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
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

// decodeBody is decodeJSON's strict decoding of bytes already read.
func decodeBody(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return bodyField("body", "is empty; a JSON object is required")
	}
	// Defaults of this decoder: names match exactly, a duplicate name and
	// invalid UTF-8 are errors, and only one value may be present.
	if err := json.Unmarshal(body, dst, json.RejectUnknownMembers(true)); err != nil {
		return bodyError(err)
	}
	return nil
}

func bodyField(loc, msg string) error {
	return problem.BadRequest("the body is not valid for this operation", problem.FieldError{Location: loc, Message: msg})
}

// bodyError turns a decoding error into the caller's problem.
func bodyError(err error) error {
	var (
		se  *json.SemanticError
		syn *jsontext.SyntacticError
	)
	switch {
	case errors.As(err, &syn):
		loc := location(syn.JSONPointer)
		switch {
		case errors.Is(syn.Err, jsontext.ErrDuplicateName):
			return bodyField(loc, "is given more than once")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return bodyField("body", "ends in the middle of the JSON value")
		case strings.Contains(syn.Err.Error(), "after top-level value"):
			return bodyField("body", "has data after the JSON object")
		}
		return bodyField(loc, fmt.Sprintf("is not valid JSON (at byte %d)", syn.ByteOffset))
	case errors.As(err, &se):
		loc := location(se.JSONPointer)
		switch {
		case errors.Is(se.Err, json.ErrUnknownName):
			return bodyField(loc, "is not a field of this operation")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return bodyField("body", "ends in the middle of the JSON value")
		case se.GoType != nil && loc == "body":
			return bodyField("body", "must be a JSON object")
		case se.GoType != nil:
			return bodyField(loc, "must be a JSON "+jsonKind(se.GoType.Kind().String()))
		}
		return bodyField(loc, "could not be decoded")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return bodyField("body", "ends in the middle of the JSON value")
	}
	return bodyField("body", "could not be decoded")
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
	return problem.BadRequest("the body could not be read", problem.FieldError{Location: "body", Message: "could not be read"})
}
