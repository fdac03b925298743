package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/partnerhub/gateway/internal/auth"
	"github.com/partnerhub/gateway/internal/middleware"
	"github.com/partnerhub/gateway/internal/problem"
	"github.com/partnerhub/gateway/internal/store"
	"github.com/partnerhub/gateway/internal/upstream"
)

// IdempotencyStore remembers write answers by key; the database behind it
// is shared by every replica, so a key claimed on one is seen by all.
type IdempotencyStore interface {
	BeginIdempotent(ctx context.Context, scope, key, fingerprint string) (replay *store.StoredResponse, owner string, err error)
	FinishIdempotent(ctx context.Context, scope, key, owner string, r store.StoredResponse) error
	ReleaseIdempotent(ctx context.Context, scope, key, owner string) error
}

// keyInUseRetry is the Retry-After of a 409 for a key whose first request
// is still running.
const keyInUseRetry = time.Second

// IdempotencyHeader is the request header of writes.
const IdempotencyHeader = "Idempotency-Key"

// idempotent makes a write safe to retry: with an Idempotency-Key, the first
// answer is remembered per caller and replayed for the same request; a
// different request under the same key is 422, a duplicate while the first
// is still running is 409. Without the header the write runs as is.
func idempotent(keys IdempotencyStore, log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := r.Header.Get(IdempotencyHeader)
			if key == "" || keys == nil {
				next.ServeHTTP(w, r)
				return
			}
			fail := func(p *problem.Problem) { problem.Write(w, middleware.RequestID(r.Context()), p) }
			if len(r.Header.Values(IdempotencyHeader)) > 1 || !validKey(key) {
				fail(problem.BadRequest("the idempotency key is not valid", problem.FieldError{
					Location: "header." + IdempotencyHeader, Code: problem.CodeInvalid, Message: "must be given once, 1 to 255 printable ASCII characters"}))
				return
			}
			// Fingerprint the request: method, path and the body bytes. The
			// body is read up to one byte past the limit, so an oversized
			// body still reaches the handler's 413.
			body, err := readBody(w, r, io.LimitReader(r.Body, maxBodyBytes+1))
			if err != nil {
				middleware.SetError(r.Context(), err)
				fail(bodyReadProblem(err))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			sum := sha256.Sum256(body)
			fp := r.Method + " " + r.URL.RequestURI() + " " + r.Header.Get("Content-Type") + " " + hex.EncodeToString(sum[:])

			p, _ := auth.FromContext(r.Context())
			scope := p.Subject + "|" + p.ClientID
			replay, owner, err := keys.BeginIdempotent(r.Context(), scope, key, fp)
			switch {
			case errors.Is(err, store.ErrKeyMismatch):
				fail(problem.New(http.StatusUnprocessableEntity, "idempotency-key-reused", "Unprocessable Content",
					"this Idempotency-Key was already used for a different request; use a new key for a new request"))
				return
			case errors.Is(err, store.ErrKeyInFlight):
				p := problem.New(http.StatusConflict, "idempotency-key-in-use", "Conflict",
					"a request with this Idempotency-Key is still in progress; retry once it has finished")
				// Most writes finish within a second; the retry then gets
				// the first request's answer replayed.
				p.Header = http.Header{"Retry-After": {retryAfterSeconds(keyInUseRetry)}}
				fail(p)
				return
			case err != nil:
				log.Error("idempotency key could not be claimed; write refused", "request_id", middleware.RequestID(r.Context()), "error", err.Error())
				fail(writeNotRecorded(err))
				return
			case replay != nil:
				h := w.Header()
				for k, vs := range replay.Header {
					h[k] = vs
				}
				h.Set("Idempotent-Replayed", "true")
				w.WriteHeader(replay.Status)
				_, _ = w.Write(replay.Body)
				log.Info("idempotent replay", "request_id", middleware.RequestID(r.Context()), "subject", p.Subject,
					"method", r.Method, "path", r.URL.Path, "status", replay.Status)
				return
			}

			rec := &teeWriter{ResponseWriter: w}
			remember := false
			// The key's fate is recorded even if the caller has gone: the
			// vendor may have acted.
			after := func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.WithoutCancel(r.Context()), auditTimeout)
			}
			defer func() {
				// A panic or an answer that certainly did not reach the
				// vendor frees the key, so a retry runs again.
				if !remember {
					ctx, cancel := after()
					defer cancel()
					if err := keys.ReleaseIdempotent(ctx, scope, key, owner); err != nil {
						log.Error("idempotency key could not be released", "request_id", middleware.RequestID(r.Context()), "error", err.Error())
					}
				}
			}()
			next.ServeHTTP(rec, r)
			remember = rec.status != 0 && !forgettable(rec.status) && !notApplied(rec.err)
			if remember {
				// If this fails the claim stays until its lease runs out:
				// retries see 409 meanwhile, never a second vendor call
				// within the lease. A claim taken over after its lease
				// (this request ran too long) is the new owner's: this
				// answer is then not stored (ErrNotFound).
				ctx, cancel := after()
				defer cancel()
				if err := keys.FinishIdempotent(ctx, scope, key, owner, store.StoredResponse{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()}); err != nil {
					log.Error("idempotent answer could not be stored", "request_id", middleware.RequestID(r.Context()), "error", err.Error())
				}
			}
		})
	}
}

// notApplied reports vendor errors after which the vendor certainly did
// not act: it asked the gateway to slow down (429), or it was never called
// (breaker open, at capacity). Such answers are not remembered either, so
// the caller's retry with the same key, after Retry-After, runs again.
func notApplied(err error) bool {
	var ue *upstream.Error
	return errors.As(err, &ue) && (ue.Status == http.StatusTooManyRequests || errors.Is(ue, upstream.ErrUnavailable))
}

// forgettable answers are not remembered: the vendor was not called (503
// breaker open, 429) or the gateway failed (500), so a retry should run.
func forgettable(status int) bool {
	return status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests || status == http.StatusInternalServerError
}

func validKey(k string) bool {
	if len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// teeWriter passes the answer through and keeps a copy of it.
type teeWriter struct {
	http.ResponseWriter
	status int
	header http.Header
	body   bytes.Buffer
	err    error // the error the handler answered with (handle records it)
}

func (t *teeWriter) recordOutcome(err error) { t.err = err }

func (t *teeWriter) WriteHeader(code int) {
	if t.status == 0 {
		t.status = code
		t.header = t.ResponseWriter.Header().Clone()
		t.header.Del("X-Request-Id") // each replay has its own request id
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *teeWriter) Write(b []byte) (int, error) {
	if t.status == 0 {
		t.WriteHeader(http.StatusOK)
	}
	t.body.Write(b)
	return t.ResponseWriter.Write(b)
}

func (t *teeWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
