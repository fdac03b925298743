package handlers

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/auth"
	"github.com/partnerhub/gateway/internal/middleware"
	"github.com/partnerhub/gateway/internal/problem"
)

// writeLog is the audit line of every write: who did what, and what the
// vendor said. Never the token (it is not in the principal).
type writeLog struct{ l *slog.Logger }

func (w writeLog) log(r *http.Request, op string, src aggregate.Source, err error, attrs ...any) {
	if w.l == nil {
		return
	}
	p, _ := auth.FromContext(r.Context())
	args := append([]any{"request_id", middleware.RequestID(r.Context()), "subject", p.Subject, "client_id", p.ClientID,
		"operation", op, "vendor", src.Vendor, "vendor_outcome", src.Status, "duration_ms", src.DurationMS}, attrs...)
	level := slog.LevelInfo
	if err != nil {
		args = append(args, "vendor_detail", src.Detail)
		level = slog.LevelWarn
	}
	w.l.Log(r.Context(), level, "write", args...)
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
