package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinel kinds a vendor package attaches to an *Error (as Err) so callers
// above the vendor layer can react without knowing any vendor's dialect.
var (
	// ErrUnavailable: the call was not attempted (breaker open, half-open
	// probe slots taken, or the vendor's concurrency cap reached).
	ErrUnavailable = errors.New("vendor unavailable")
	// ErrNotFound: the vendor says the addressed record does not exist.
	ErrNotFound = errors.New("not found at vendor")
	// ErrConflict: the vendor refuses because of current state (already
	// registered, a sync already running).
	ErrConflict = errors.New("conflict at vendor")
	// ErrRejected: the vendor rejects a well-formed request (quota, business
	// rule, validation the gateway could not know about).
	ErrRejected = errors.New("rejected by vendor")
	// ErrCredentials: the vendor rejected the gateway's own credentials.
	// That is the gateway's configuration problem, never the caller's.
	ErrCredentials = errors.New("vendor rejected gateway credentials")
	// ErrMalformed: the vendor answered something that is not its documented
	// format.
	ErrMalformed = errors.New("malformed vendor response")
)

// Error is a failed vendor call. Message and Code are the vendor's own words
// (bounded, never containing credentials); Err is the kind (a sentinel above,
// context.DeadlineExceeded, or a transport error).
type Error struct {
	Vendor     string
	Op         string
	Status     int    // HTTP status; 0 when no response arrived
	Code       string // the vendor's own error code, if it sent one
	Message    string // the vendor's own message, if it sent one
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	s := e.Vendor + " " + e.Op
	if e.Status != 0 {
		s += ": status " + strconv.Itoa(e.Status)
	}
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// vendorFault reports whether err says the vendor is unhealthy, which is what
// the breaker counts: no answer, a timeout, a 5xx or 429, or an answer that is
// not the vendor's format. A caller's 4xx, a business refusal and a
// cancelled caller are not the vendor's fault.
func vendorFault(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var e *Error
	if !errors.As(err, &e) {
		return true
	}
	switch {
	case errors.Is(e.Err, ErrMalformed), errors.Is(e.Err, ErrIncomplete), errors.Is(e.Err, context.DeadlineExceeded):
		return true
	case e.Status == 0:
		return !errors.Is(e.Err, ErrUnavailable)
	case e.Status >= 500, e.Status == http.StatusTooManyRequests:
		return true
	}
	return false
}

// SourceStatus values used in the "sources" array of every aggregated answer.
const (
	StatusOK          = "ok"
	StatusError       = "error"
	StatusTimeout     = "timeout"
	StatusUnavailable = "unavailable"
)

// SourceStatus classifies a vendor call's outcome for callers.
func SourceStatus(err error) string {
	switch {
	case err == nil:
		return StatusOK
	case errors.Is(err, ErrUnavailable):
		return StatusUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return StatusTimeout
	default:
		return StatusError
	}
}

// Detail is a short, caller-safe description of a vendor failure for the
// sources[].detail field: status and the vendor's message, never a URL or a
// credential.
func Detail(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		if errors.Is(err, context.DeadlineExceeded) {
			return "deadline exceeded"
		}
		return "vendor call failed"
	}
	switch {
	case errors.Is(e.Err, ErrUnavailable):
		return "circuit open or vendor at capacity; not called"
	case errors.Is(e.Err, context.DeadlineExceeded):
		return "no answer within the time budget"
	case errors.Is(e.Err, ErrIncomplete):
		return "listing incomplete: " + truncate(e.Message, 200)
	case errors.Is(e.Err, ErrCredentials):
		return "the gateway's credentials for " + e.Vendor + " were rejected"
	case e.Status == 0:
		return "connection failed"
	}
	s := fmt.Sprintf("vendor answered %d", e.Status)
	if e.Message != "" {
		s += ": " + truncate(e.Message, 200)
	} else if errors.Is(e.Err, ErrMalformed) {
		// Say what could not be understood: the decoder's words, bounded.
		s += ": malformed response"
		if why, ok := strings.CutPrefix(e.Err.Error(), ErrMalformed.Error()+": "); ok && why != "" {
			s += " (" + truncate(why, 160) + ")"
		}
	}
	return s
}

func truncate(s string, n int) string { return Truncate(s, n) }

// Unhealthy reports whether err says the vendor could not answer right now:
// it is down, overloaded, slow, answered garbage, or was not even called
// (breaker open, bulkhead full). A definite answer (not found, rejected, a
// caller's mistake) and a cancelled caller are not. An earlier good answer
// may stand in for an unhealthy vendor, never for a definite one.
func Unhealthy(err error) bool {
	return vendorFault(err) || errors.Is(err, ErrUnavailable)
}
