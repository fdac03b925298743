// Package devoidc is a small but real OpenID Connect issuer for -dev mode and
// tests: discovery, a JWKS, and a token endpoint that issues RS256-signed
// access tokens by the client-credentials grant to built-in clients. The
// gateway verifies its tokens exactly as it verifies a production issuer's.
// It is not for production: keys live in memory and clients are fixed.
package devoidc

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Client is a built-in OAuth client and the roles its tokens carry.
type Client struct {
	ID     string
	Secret string
	Roles  []string
}

// DevClients are the built-in clients: one per default role.
var DevClients = []Client{
	{ID: "dev-reader", Secret: "dev-reader-secret", Roles: []string{"reader"}},
	{ID: "dev-operator", Secret: "dev-operator-secret", Roles: []string{"operator"}},
	{ID: "dev-admin", Secret: "dev-admin-secret", Roles: []string{"admin"}},
}

// Issuer issues tokens for one audience.
type Issuer struct {
	url      string
	audience string
	claim    string
	ttl      time.Duration
	clients  map[string]Client

	mu  sync.Mutex
	key *rsa.PrivateKey
	kid string
}

// New makes an issuer whose iss is url (no trailing slash), issuing tokens
// for audience with roles under rolesClaim.
func New(url, audience, rolesClaim string, clients []Client) (*Issuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	in := &Issuer{
		url: strings.TrimSuffix(url, "/"), audience: audience, claim: rolesClaim, ttl: time.Hour,
		clients: map[string]Client{}, key: key, kid: "dev-1",
	}
	for _, c := range clients {
		in.clients[c.ID] = c
	}
	return in, nil
}

// URL is the issuer identifier.
func (in *Issuer) URL() string { return in.url }

// RotateKey replaces the signing key, as a real issuer does; verifiers must
// pick up the new key from the JWKS.
func (in *Issuer) RotateKey() error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.key = key
	in.kid = fmt.Sprintf("dev-%d", time.Now().UnixNano())
	return nil
}

// Token issues an access token for a built-in client.
func (in *Issuer) Token(clientID string, ttl time.Duration) (string, error) {
	c, ok := in.clients[clientID]
	if !ok {
		return "", fmt.Errorf("devoidc: unknown client %q", clientID)
	}
	now := time.Now()
	return in.Sign(map[string]any{
		"iss": in.url, "aud": in.audience, "sub": c.ID, "azp": c.ID, "client_id": c.ID,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix(), in.claim: c.Roles,
	})
}

// Sign signs arbitrary claims with the issuer's current key (tests use it
// for expired, wrong-audience and odd-claim tokens).
func (in *Issuer) Sign(claims map[string]any) (string, error) {
	in.mu.Lock()
	key, kid := in.key, in.kid
	in.mu.Unlock()
	return SignWith(key, kid, claims)
}

// SignWith signs claims with any RSA key as RS256.
func SignWith(key *rsa.PrivateKey, kid string, claims map[string]any) (string, error) {
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		return "", err
	}
	return jwt.Signed(sig).Claims(claims).Serialize()
}

// ServeHTTP serves discovery, the JWKS and the token endpoint.
func (in *Issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                                in.url,
			"jwks_uri":                              in.url + "/jwks",
			"token_endpoint":                        in.url + "/token",
			"authorization_endpoint":                in.url + "/authorize",
			"response_types_supported":              []string{"token"},
			"grant_types_supported":                 []string{"client_credentials"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		})
	case "/jwks":
		in.mu.Lock()
		jwk := jose.JSONWebKey{Key: &in.key.PublicKey, KeyID: in.kid, Algorithm: "RS256", Use: "sig"}
		in.mu.Unlock()
		writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
	case "/token":
		in.serveToken(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (in *Issuer) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	c, known := in.clients[id]
	if !known || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="devoidc"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret")
		return
	}
	tok, err := in.Token(id, in.ttl)
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", "could not sign token")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": int(in.ttl.Seconds()),
	})
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
