package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/partnerhub/gateway/internal/problem"
)

// maxBodyBytes bounds every request body; nothing the API accepts is near it.
const maxBodyBytes = 64 << 10

// decodeJSON is the one strict body decoder every write uses: JSON content
// type (415), at most maxBodyBytes (413), no unknown fields, no trailing
// data, and type mistakes reported with their location (body.<field>).
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return problem.New(http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported Media Type",
			"the body must be JSON, sent with Content-Type: application/json")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return bodyError(err)
	}
	// A second value (or garbage) after the object is a caller mistake too.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return bodyError(err)
		}
		return problem.BadRequest("the body must be a single JSON object",
			problem.FieldError{Location: "body", Message: "has data after the JSON object"})
	}
	return nil
}

// bodyError turns a decoding error into the caller's problem.
func bodyError(err error) error {
	var (
		mbe *http.MaxBytesError
		ute *json.UnmarshalTypeError
		se  *json.SyntaxError
	)
	field := func(loc, msg string) error {
		return problem.BadRequest("the body is not valid for this operation", problem.FieldError{Location: loc, Message: msg})
	}
	switch {
	case errors.As(err, &mbe):
		return problem.New(http.StatusRequestEntityTooLarge, "content-too-large", "Content Too Large",
			fmt.Sprintf("the body must be at most %d bytes", maxBodyBytes))
	case errors.As(err, &ute):
		if ute.Field == "" {
			return field("body", "must be a JSON object")
		}
		return field("body."+ute.Field, "must be a JSON "+jsonKind(ute.Type.Kind().String()))
	case errors.As(err, &se):
		return field("body", fmt.Sprintf("is not valid JSON (at byte %d)", se.Offset))
	case errors.Is(err, io.EOF):
		return field("body", "is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return field("body", "ends in the middle of the JSON value")
	}
	// encoding/json reports unknown fields only by message.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return field("body."+strings.Trim(name, `"`), "is not a field of this operation")
	}
	return field("body", "could not be decoded")
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
