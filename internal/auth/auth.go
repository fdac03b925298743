// Package auth verifies callers' OIDC bearer tokens and turns them into a
// Principal with roles and permissions. Discovery and the JWKS come through
// go-oidc from a long-lived context, so keys are cached and refreshed when
// the issuer rotates them.
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Principal is the authenticated caller.
type Principal struct {
	Subject     string
	ClientID    string
	Roles       []string
	Permissions []string
}

// Can reports whether the principal holds permission.
func (p Principal) Can(permission string) bool { return slices.Contains(p.Permissions, permission) }

// ErrInvalidToken is any verification failure: signature, issuer, audience,
// expiry, algorithm or shape. The wrapped cause is for logs only.
var ErrInvalidToken = errors.New("invalid token")

// Verifier checks access tokens from one issuer for one audience.
type Verifier struct {
	verifier    *oidc.IDTokenVerifier
	rolesClaim  []string
	permissions map[string][]string
	verified    verifiedTokens
}

// SupportedAlgs are the signature algorithms accepted; "none" and the HMAC
// family never are.
var SupportedAlgs = []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512, oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA}

// NewVerifier runs discovery against issuer. ctx must outlive the verifier:
// go-oidc uses it for every later JWKS refresh. hc is used for discovery and
// JWKS fetches.
func NewVerifier(ctx context.Context, hc *http.Client, issuer, audience, rolesClaim string, permissions map[string][]string) (*Verifier, error) {
	ctx = oidc.ClientContext(ctx, hc)
	var (
		provider *oidc.Provider
		err      error
	)
	// The issuer may start a moment after us; try for a few seconds.
	for attempt := 0; attempt < 5; attempt++ {
		if provider, err = oidc.NewProvider(ctx, issuer); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
	if err != nil {
		return nil, fmt.Errorf("oidc discovery at %s: %w", issuer, err)
	}
	return &Verifier{
		verifier: provider.Verifier(&oidc.Config{
			ClientID:             audience,
			SupportedSigningAlgs: SupportedAlgs,
		}),
		rolesClaim:  strings.Split(rolesClaim, "."),
		permissions: permissions,
	}, nil
}

// Verify checks raw and returns the caller.
func (v *Verifier) Verify(ctx context.Context, raw string) (Principal, error) {
	if p, ok := v.verified.get(raw, time.Now()); ok {
		return p, nil
	}
	tok, err := v.verifier.Verify(ctx, raw)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return Principal{}, fmt.Errorf("%w: claims: %v", ErrInvalidToken, err)
	}
	p := Principal{Subject: tok.Subject}
	if s, ok := claims["azp"].(string); ok {
		p.ClientID = s
	} else if s, ok := claims["client_id"].(string); ok {
		p.ClientID = s
	}
	p.Roles = stringsAt(claims, v.rolesClaim)
	seen := map[string]bool{}
	for _, r := range p.Roles {
		for _, perm := range v.permissions[r] {
			if !seen[perm] {
				seen[perm] = true
				p.Permissions = append(p.Permissions, perm)
			}
		}
	}
	v.verified.put(raw, p, tok.Expiry, time.Now())
	return p, nil
}

// stringsAt reads a list of strings at a dotted claim path. A single string
// is split on spaces (the "scope" style); anything else yields nothing.
func stringsAt(claims map[string]any, path []string) []string {
	var cur any = claims
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	switch v := cur.(type) {
	case string:
		return strings.Fields(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

type principalKey struct{}

// WithPrincipal stores the caller in ctx.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the caller, or false when the request was not
// authenticated (a wiring mistake the caller must handle, never a panic).
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
