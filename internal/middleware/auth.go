package middleware

import (
	"errors"
	"net/http"
	"strings"

	"github.com/partnerhub/gateway/internal/auth"
	"github.com/partnerhub/gateway/internal/problem"
)

// Authenticate requires a valid bearer token (RFC 6750): no token is a 401
// with a bare challenge, a bad one a 401 with error="invalid_token". The
// token and its claims are never logged; only the subject is.
func Authenticate(v *auth.Verifier) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := RequestID(r.Context())
			h := r.Header.Get("Authorization")
			if h == "" {
				problem.Write(w, id, problem.Unauthorized("", "this operation needs an Authorization: Bearer <token> header"))
				return
			}
			scheme, raw, ok := strings.Cut(h, " ")
			raw = strings.TrimSpace(raw)
			if !ok || !strings.EqualFold(scheme, "Bearer") || raw == "" {
				problem.Write(w, id, problem.Unauthorized("invalid_request", "the Authorization header must be Bearer <token>"))
				return
			}
			p, err := v.Verify(r.Context(), raw)
			if err != nil {
				// The cause (expired, audience, signature...) is logged;
				// the caller gets a stable message.
				SetError(r.Context(), err)
				if !errors.Is(err, auth.ErrInvalidToken) {
					problem.Write(w, id, problem.Internal(err))
					return
				}
				problem.Write(w, id, problem.Unauthorized("invalid_token", "the access token is invalid or expired"))
				return
			}
			setSubject(r.Context(), p.Subject)
			next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
		})
	}
}

// Require lets the request through only when the caller holds permission.
func Require(permission string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := auth.FromContext(r.Context())
			if !ok {
				problem.Write(w, RequestID(r.Context()), problem.Unauthorized("", "this operation needs an Authorization: Bearer <token> header"))
				return
			}
			if !p.Can(permission) {
				problem.Write(w, RequestID(r.Context()), problem.Forbidden(permission))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
