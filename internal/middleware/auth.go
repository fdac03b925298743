package middleware

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"

	"github.com/partnerhub/gateway/internal/auth"
	"github.com/partnerhub/gateway/internal/problem"
)

// Authenticate requires a valid bearer token (RFC 6750): no token is a 401
// with a bare challenge, a bad one a 401 with error="invalid_token", several
// Authorization headers a 400 invalid_request (which one would count is
// ambiguous). The token and its claims are never logged; only the subject
// is. With limit set, a client address that failed too often is refused
// with 429 before any verification work, and every failure is charged to it.
func Authenticate(v *auth.Verifier, limit *AuthFailureLimiter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := RequestID(r.Context())
			hs := r.Header.Values("Authorization")
			if len(hs) == 0 || (len(hs) == 1 && hs[0] == "") {
				problem.Write(w, id, problem.Unauthorized("", "this operation needs an Authorization: Bearer <token> header"))
				return
			}
			var addr string
			if limit != nil {
				addr = limitKey(limit.ClientAddr(r))
				if limit.refuse(w, r, addr) {
					return
				}
			}
			fail := func(p *problem.Problem) {
				if limit != nil {
					limit.failed(addr)
				}
				problem.Write(w, id, p)
			}
			if len(hs) > 1 {
				p := problem.New(http.StatusBadRequest, "invalid-request", "Invalid request", "send exactly one Authorization header")
				p.Errors = []problem.FieldError{{Location: "header.Authorization", Code: problem.CodeRepeated, Message: "must be given once"}}
				p.Header = http.Header{"Www-Authenticate": {`Bearer realm="gateway", error="invalid_request", error_description="send exactly one Authorization header"`}}
				fail(p)
				return
			}
			scheme, raw, ok := strings.Cut(hs[0], " ")
			raw = strings.TrimSpace(raw)
			if !ok || !strings.EqualFold(scheme, "Bearer") || raw == "" {
				fail(problem.Unauthorized("invalid_request", "the Authorization header must be Bearer <token>"))
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
				fail(problem.Unauthorized("invalid_token", "the access token is invalid or expired"))
				return
			}
			setSubject(r.Context(), p.Subject)
			next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
		})
	}
}

// limitKey is the bucket of a client address: IPv4 addresses one by one,
// IPv6 by /64, the block one subscriber usually holds.
func limitKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Is4() {
		return addr
	}
	p, err := a.Prefix(64)
	if err != nil {
		return addr
	}
	return p.String()
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
