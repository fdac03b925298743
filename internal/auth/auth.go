// Package auth verifies callers' OIDC bearer tokens and turns them into a
// Principal with roles and permissions. Discovery comes through go-oidc; the
// issuer's keys are cached and fetched again only for an unknown key id, at
// most once per interval (keyset.go).
package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/prometheus/client_golang/prometheus"
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
	keys        *keySet
	rolesClaim  []string
	permissions map[string][]string
	verified    verifiedTokens
}

// SupportedAlgs are the signature algorithms accepted; "none" and the HMAC
// family never are.
var SupportedAlgs = []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512, oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA}

// Config configures NewVerifier.
type Config struct {
	// HTTPClient is used for discovery and key-set fetches.
	HTTPClient *http.Client
	Issuer     string
	Audience   string
	// RolesClaim is where roles are: "roles", "groups" or a dotted path.
	RolesClaim  string
	Permissions map[string][]string
	// JWKSMinRefresh is the least time between two key-set fetches
	// (0: DefaultJWKSMinRefresh).
	JWKSMinRefresh time.Duration
	// Registerer takes gateway_oidc_jwks_fetches_total; nil: not exported.
	Registerer prometheus.Registerer
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// NewVerifier runs discovery against the issuer and fetches its key set
// once. ctx must outlive the verifier: later key-set fetches run under it.
func NewVerifier(ctx context.Context, c Config) (*Verifier, error) {
	if c.HTTPClient == nil {
		c.HTTPClient = http.DefaultClient
	}
	if c.JWKSMinRefresh <= 0 {
		c.JWKSMinRefresh = DefaultJWKSMinRefresh
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	fetches := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gateway_oidc_jwks_fetches_total",
		Help: "Fetches of the OIDC issuer's key set, by result (success or failure).",
	}, []string{"result"})
	if c.Registerer != nil {
		if err := c.Registerer.Register(fetches); err != nil {
			return nil, err
		}
	}
	dctx := oidc.ClientContext(ctx, c.HTTPClient)
	var (
		provider *oidc.Provider
		err      error
	)
	// The issuer may start a moment after us; try for a few seconds.
	for attempt := 0; attempt < 5; attempt++ {
		if provider, err = oidc.NewProvider(dctx, c.Issuer); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
	if err != nil {
		return nil, fmt.Errorf("oidc discovery at %s: %w", c.Issuer, err)
	}
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := provider.Claims(&meta); err != nil || meta.JWKSURI == "" {
		return nil, fmt.Errorf("oidc discovery at %s: no jwks_uri", c.Issuer)
	}
	ks := &keySet{url: meta.JWKSURI, client: c.HTTPClient, ctx: ctx, minRefresh: c.JWKSMinRefresh, now: c.Now, fetches: fetches}
	if err := ks.refresh(ctx); err != nil {
		return nil, fmt.Errorf("oidc key set at %s: %w", meta.JWKSURI, err)
	}
	return &Verifier{
		verifier: oidc.NewVerifier(c.Issuer, ks, &oidc.Config{
			ClientID:             c.Audience,
			SupportedSigningAlgs: SupportedAlgs,
			Now:                  c.Now,
		}),
		keys:        ks,
		rolesClaim:  strings.Split(c.RolesClaim, "."),
		permissions: c.Permissions,
	}, nil
}

// timeClaims must be JSON numbers (RFC 7519 NumericDate); go-oidc would
// also take a numeric string.
var timeClaims = []string{"exp", "nbf", "iat"}

// Verify checks raw and returns the caller.
func (v *Verifier) Verify(ctx context.Context, raw string) (Principal, error) {
	if p, ok := v.verified.get(raw, time.Now()); ok {
		return p, nil
	}
	tok, err := v.verifier.Verify(ctx, raw)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	var rawClaims map[string]json.RawMessage
	if err := tok.Claims(&rawClaims); err != nil {
		return Principal{}, fmt.Errorf("%w: claims: %v", ErrInvalidToken, err)
	}
	for _, name := range timeClaims {
		if b, ok := rawClaims[name]; ok && !isJSONNumber(b) {
			return Principal{}, fmt.Errorf("%w: claim %s is not a JSON number", ErrInvalidToken, name)
		}
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

func isJSONNumber(b json.RawMessage) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return false
	}
	_, ok := v.(json.Number)
	return ok
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
