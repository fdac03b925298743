package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/middleware"
	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/problem"
	"github.com/partnerhub/gateway/internal/upstream"
)

// handlerFunc is a handler that returns its error instead of writing it;
// handle is the only place such errors become responses.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func handle(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := fn(w, r)
		if err == nil {
			return
		}
		middleware.SetError(r.Context(), err) // for the access log
		recordOutcome(w, err)
		if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
			return // the caller left; there is no one to answer (logged as 499)
		}
		problem.Write(w, middleware.RequestID(r.Context()), toProblem(err))
	})
}

// outcomeRecorder is a ResponseWriter that acts on the error a handler
// answered with: the idempotency middleware's teeWriter, which must not
// remember an answer after which the vendor certainly did not act.
type outcomeRecorder interface{ recordOutcome(err error) }

// recordOutcome hands err to the first outcomeRecorder among w and the
// writers it wraps.
func recordOutcome(w http.ResponseWriter, err error) {
	for {
		if o, ok := w.(outcomeRecorder); ok {
			o.recordOutcome(err)
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}

// toProblem maps every error kind to its public answer.
func toProblem(err error) *problem.Problem {
	var (
		p  *problem.Problem
		vf *aggregate.VendorsFailedError
		qe *model.QuotaExhaustedError
		ue *upstream.Error
	)
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &qe):
		return quotaExhausted(qe)
	case errors.Is(err, model.ErrAlreadyRegistered):
		p := problem.New(http.StatusConflict, "already-registered", "Conflict",
			"the licence manager already has this user registered; nothing changed")
		p.Err = err
		return p
	case errors.As(err, &vf):
		return vendorsFailed(vf)
	case errors.As(err, &ue):
		return vendorError(ue)
	case errors.Is(err, context.DeadlineExceeded):
		return problem.New(http.StatusGatewayTimeout, "vendor-timeout", "Gateway Timeout", "the request did not finish within its time budget")
	}
	return problem.Internal(err)
}

func vendorsFailed(vf *aggregate.VendorsFailedError) *problem.Problem {
	var p *problem.Problem
	switch vf.Status() {
	case upstream.StatusUnavailable:
		p = problem.Unavailable("every vendor this answer needs is unavailable (circuit open or at capacity); retry later", max(vf.RetryAfter(), 5*time.Second))
	case upstream.StatusTimeout:
		p = problem.New(http.StatusGatewayTimeout, "vendor-timeout", "Gateway Timeout", "no vendor this answer needs answered within the time budget")
	default:
		p = problem.New(http.StatusBadGateway, "vendor-error", "Bad Gateway", "every vendor this answer needs failed")
		// Vendors that asked for a pause (429) say when a retry can work.
		if ra := vf.RetryAfter(); ra > 0 {
			p.Header = http.Header{"Retry-After": {retryAfterSeconds(ra)}}
		}
	}
	p.Sources = vf.Sources
	p.Err = vf
	return p
}

// vendorError maps one vendor's failure for endpoints served by one vendor.
func vendorError(ue *upstream.Error) *problem.Problem {
	msg := ue.Message
	var p *problem.Problem
	switch {
	case errors.Is(ue, upstream.ErrNotFound):
		p = problem.NotFound(firstNonEmpty(msg, "the vendor has no such record"))
	case errors.Is(ue, upstream.ErrConflict):
		p = problem.New(http.StatusConflict, "conflict", "Conflict", firstNonEmpty(msg, "the vendor refused because of the record's current state"))
	case errors.Is(ue, upstream.ErrRejected):
		p = problem.New(http.StatusUnprocessableEntity, "rejected-by-vendor", "Unprocessable Content", firstNonEmpty(msg, "the vendor rejected the request"))
	case errors.Is(ue, upstream.ErrUnavailable):
		p = problem.Unavailable(ue.Vendor+" is unavailable (circuit open or at capacity); retry later", max(ue.RetryAfter, 5*time.Second))
	case errors.Is(ue, context.DeadlineExceeded):
		p = problem.New(http.StatusGatewayTimeout, "vendor-timeout", "Gateway Timeout", ue.Vendor+" did not answer within the time budget")
	case errors.Is(ue, upstream.ErrCredentials):
		// The gateway's own credentials: not the caller's problem to fix.
		p = problem.New(http.StatusBadGateway, "vendor-error", "Bad Gateway", "the gateway's credentials for "+ue.Vendor+" were rejected")
	default:
		p = problem.New(http.StatusBadGateway, "vendor-error", "Bad Gateway", upstream.Detail(ue))
		if ue.RetryAfter > 0 {
			p.Header = http.Header{"Retry-After": {retryAfterSeconds(ue.RetryAfter)}}
		}
	}
	p.Err = ue
	return p
}

// storeUnavailable is the answer when the gateway's own database fails.
// detail says what the caller lost; for writes, that nothing reached a
// vendor, so a retry is safe.
func storeUnavailable(detail string, err error) *problem.Problem {
	p := problem.New(http.StatusServiceUnavailable, "store-unavailable", "Service Unavailable", detail)
	p.Header = http.Header{"Retry-After": {retryAfterSeconds(5 * time.Second)}}
	p.Err = err
	return p
}

// retryAfterSeconds renders a delay as Retry-After seconds, rounded up so
// a caller never comes back too early.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(int((d + time.Second - 1) / time.Second))
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// respond encodes v completely before writing anything, so an encoding
// failure becomes a clean 500 instead of a partial body.
func respond(w http.ResponseWriter, status int, v any) error {
	buf := getBuffer()
	defer putBuffer(buf)
	if err := json.NewEncoder(buf).Encode(v); err != nil { // Encode ends the body with a newline
		return fmt.Errorf("encoding response: %w", err)
	}
	writeBody(w, status, buf.Bytes())
	return nil
}

// respondList writes a list answer whose items are already encoded (cut
// from a snapshot), in the field order of the list types:
// {"items":[...],"next_page_token":"...","sources":[...],"complete":bool}.
func respondList(w http.ResponseWriter, items [][]byte, links pageLinks, sources []aggregate.Source, complete bool) error {
	buf := getBuffer()
	defer putBuffer(buf)
	buf.WriteString(`{"items":[`)
	for i, item := range items {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(item)
	}
	buf.WriteByte(']')
	for _, tok := range []struct{ name, v string }{{"next_page_token", links.Next}, {"previous_page_token", links.Previous}} {
		if tok.v != "" {
			buf.WriteString(`,"` + tok.name + `":`)
			b, _ := json.Marshal(tok.v)
			buf.Write(b)
		}
	}
	if links.Total != nil {
		buf.WriteString(`,"total_size":` + strconv.Itoa(*links.Total))
	}
	// The tag covers the page and what the sources say, not their timing
	// (duration_ms, age_ms change on every answer): a 304 means the same
	// items from vendors in the same state.
	tag := crc32.New(castagnoli)
	_, _ = tag.Write(buf.Bytes())
	for _, s := range sources {
		_, _ = tag.Write([]byte(s.Vendor + "\x00" + s.Status + "\x00" + strconv.FormatBool(s.Stale) + "\x00" + s.Detail + "\x00"))
	}
	buf.WriteString(`,"sources":`)
	if err := json.NewEncoder(buf).Encode(sources); err != nil {
		return fmt.Errorf("encoding response: %w", err)
	}
	buf.Truncate(buf.Len() - 1)
	buf.WriteString(`,"complete":` + strconv.FormatBool(complete) + "}\n")
	w.Header().Set("ETag", `W/"`+strconv.FormatUint(uint64(tag.Sum32())<<32|uint64(len(buf.Bytes())), 36)+`"`)
	writeBody(w, http.StatusOK, buf.Bytes())
	return nil
}

// writeBody sends a JSON body with its length and, for 200, a weak ETag
// of its bytes: middleware.Conditional answers a matching If-None-Match
// with 304 and compresses large bodies for callers that accept gzip.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if status == http.StatusOK && h.Get("ETag") == "" {
		h.Set("ETag", etagOf(body))
	}
	if len(body) >= middleware.CompressMinBytes {
		h.Add("Vary", "Accept-Encoding")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// castagnoli is CRC-32C, computed in hardware on amd64 and arm64.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// etagOf fingerprints a body with two hardware CRCs (64 bits): a byte-wise
// hash cost a sixth of a list page's CPU.
func etagOf(body []byte) string {
	sum := uint64(crc32.Checksum(body, castagnoli))<<32 | uint64(crc32.ChecksumIEEE(body))
	return `W/"` + strconv.FormatUint(sum, 36) + `"`
}

// Encode buffers are reused; one that grew past maxPooledBuffer (a rare
// huge answer) is left to the collector so the pool stays small.
const maxPooledBuffer = 1 << 20

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuffer() *bytes.Buffer { return buffers.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	buffers.Put(b)
}
