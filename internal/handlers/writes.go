package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/auth"
	"github.com/partnerhub/gateway/internal/middleware"
	"github.com/partnerhub/gateway/internal/problem"
	"github.com/partnerhub/gateway/internal/store"
	"github.com/partnerhub/gateway/internal/upstream"
)

// AuditStore is the part of the store the audit trail needs.
type AuditStore interface {
	AppendAudit(ctx context.Context, e store.AuditEvent) error
	FinishAudit(ctx context.Context, id, outcome string, status int, detail string) error
	ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error)
}

// writeLog is the audit trail of every write: who did what, with which
// normalized input, and what the vendor said. Each write is recorded in the
// store before the vendor is called, so no vendor write ever happens
// without its record, and logged as one line when it ends. Never the token
// (it is not in the principal).
type writeLog struct {
	l     *slog.Logger
	store AuditStore // nil: log lines only (tests of handlers in isolation)
}

// pendingWrite is an audit record awaiting the vendor's outcome.
type pendingWrite struct {
	w     writeLog
	r     *http.Request
	event store.AuditEvent
}

// auditTimeout bounds the store calls of the audit trail. Finishing a
// record runs even when the caller has gone: the vendor may have acted.
const auditTimeout = 2 * time.Second

// begin records a write that is about to reach a vendor. An error means
// the record could not be written: the caller must not call the vendor and
// answers 503.
func (w writeLog) begin(r *http.Request, op, target string, input any) (*pendingWrite, error) {
	p, _ := auth.FromContext(r.Context())
	raw, err := json.Marshal(input)
	if err != nil {
		return nil, err
	}
	pw := &pendingWrite{w: w, r: r, event: store.AuditEvent{
		ID: newID(), Time: time.Now().UTC(), RequestID: middleware.RequestID(r.Context()),
		Subject: p.Subject, ClientID: p.ClientID, Operation: op, Target: target,
		Input: raw, Outcome: store.OutcomePending,
	}}
	if w.store == nil {
		return pw, nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), auditTimeout)
	defer cancel()
	if err := w.store.AppendAudit(ctx, pw.event); err != nil {
		w.logError(r, "audit record could not be written; write refused", err, "operation", op)
		return nil, writeNotRecorded(err)
	}
	return pw, nil
}

// done records the vendor's outcome and logs the write.
func (pw *pendingWrite) done(src aggregate.Source, status int, err error) {
	outcome, detail := store.OutcomeSucceeded, ""
	if err != nil {
		outcome, detail = store.OutcomeFailed, src.Detail
		if p := toProblem(err); p != nil {
			status = p.Status
			detail = firstNonEmpty(detail, p.Detail)
		}
		// A vendor that did not answer in time may still have acted.
		if src.Status == upstream.StatusTimeout || errors.Is(err, context.DeadlineExceeded) {
			outcome = store.OutcomeUnknown
		}
	}
	w, r := pw.w, pw.r
	if w.store != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), auditTimeout)
		defer cancel()
		if ferr := w.store.FinishAudit(ctx, pw.event.ID, outcome, status, detail); ferr != nil {
			w.logError(r, "audit outcome could not be recorded", ferr, "audit_id", pw.event.ID, "outcome", outcome)
		}
	}
	if w.l == nil {
		return
	}
	args := []any{"request_id", pw.event.RequestID, "subject", pw.event.Subject, "client_id", pw.event.ClientID,
		"operation", pw.event.Operation, "target", pw.event.Target, "audit_id", pw.event.ID,
		"vendor", src.Vendor, "vendor_outcome", src.Status, "outcome", outcome, "status", status, "duration_ms", src.DurationMS}
	level := slog.LevelInfo
	if err != nil {
		args = append(args, "vendor_detail", detail)
		level = slog.LevelWarn
	}
	w.l.Log(r.Context(), level, "write", args...)
}

func (w writeLog) logError(r *http.Request, msg string, err error, attrs ...any) {
	if w.l == nil {
		return
	}
	args := append([]any{"request_id", middleware.RequestID(r.Context()), "error", err.Error()}, attrs...)
	w.l.Log(r.Context(), slog.LevelError, msg, args...)
}

// writeNotRecorded is the answer when a write's record (audit event or
// idempotency key) cannot be stored: the write never reached a vendor.
func writeNotRecorded(err error) *problem.Problem {
	return storeUnavailable("the gateway could not record this write in its database, so it was not sent to the vendor; retry later", err)
}

// newID is a random 128-bit id in hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// joinBadRequests merges several 400 problems (nil ones skipped) into one
// listing every field error; any other error is returned as is.
func joinBadRequests(errs ...error) error {
	var fields []problem.FieldError
	for _, err := range errs {
		if err == nil {
			continue
		}
		var p *problem.Problem
		if !errors.As(err, &p) || p.Status != http.StatusBadRequest {
			return err
		}
		fields = append(fields, p.Errors...)
	}
	if len(fields) == 0 {
		return nil
	}
	return problem.BadRequest("the request is not valid", fields...)
}
