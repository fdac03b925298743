package upstream

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// NewRequest builds a vendor API request that asks for JSON; a non-nil
// body is sent as JSON. The body is replayable, so the stack can retry
// idempotent calls. A failure is an *Error of vendor and op.
func NewRequest(vendor, op, method, u string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return nil, &Error{Vendor: vendor, Op: op, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// FormRequest builds an OAuth token-endpoint POST of form (op "token").
func FormRequest(vendor, u string, form url.Values) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, &Error{Vendor: vendor, Op: "token", Err: err}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}
