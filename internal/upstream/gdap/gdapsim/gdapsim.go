// Package gdapsim simulates Appxite's GDAP API (an Azure Functions app under
// /api/) plus an Entra-style client-credentials token endpoint, following
// docs/vendors.md (GDAP): PascalCase Azure Table entities, 401 with the body `null`
// for a bad token or a partner id the token does not belong to, and
// Azure Functions habits where the contract is silent (404 with an empty
// body for unknown routes and wrong methods, 400 with a short JSON string
// for a missing or invalid query parameter, empty bodies for 5xx).
package gdapsim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/partnerhub/gateway/internal/upstream/simfault"
	"github.com/partnerhub/gateway/internal/upstream/simseed"
)

// Paths and defaults.
const (
	// BasePath is the Functions route prefix; the client base URL is the
	// server URL plus BasePath.
	BasePath = "/api/"
	// TokenPath is the Entra-style token endpoint (client credentials only).
	TokenPath = "/oauth2/v2.0/token"

	DefaultClientID     = "6d0b1c2e-3f4a-4b5c-8d6e-7f8091a2b3c4"
	DefaultClientSecret = "gdap-sim-client-secret"
	// DefaultToken is a static bearer token that is always accepted.
	DefaultToken    = "gdap-sim-static-token"
	DefaultTokenTTL = time.Hour

	// RolesPartitionKey is the constant PartitionKey of GetAvailableRoles items.
	RolesPartitionKey = "00000000-0000-0000-0000-000000000001"
	// SyncAcceptedMessage is SynchronizePartnerCustomers' documented answer.
	SyncAcceptedMessage = "Your customers will be synchronized now."
)

// Options configure a simulator; zero fields take the defaults.
type Options struct {
	// PartnerID is the partner tenant the tokens belong to; requests naming
	// another partnerId/providerId get 401. Default simseed.PartnerTenantID.
	PartnerID    string
	ClientID     string        // default DefaultClientID
	ClientSecret string        // default DefaultClientSecret
	Token        string        // static token; default DefaultToken
	TokenTTL     time.Duration // expires_in of issued tokens; default DefaultTokenTTL
	// DisableCustomersRoute makes GET /api/Customers a 404 so only
	// /api/ListCustomers answers (the contract's unresolved route).
	DisableCustomersRoute bool
	// DisableListCustomersRoute makes GET /api/ListCustomers a 404 so only
	// /api/Customers answers.
	DisableListCustomersRoute bool
	// Relationships is the GetRelationships variant (RelationshipsNone,
	// the default, RelationshipsGraph or RelationshipsValue).
	Relationships string
}

// SyncRequest is one accepted SynchronizePartnerCustomers call.
type SyncRequest struct {
	PartnerID string
	Email     string
	At        time.Time
}

// Server is the simulator. Its zero value is not usable; call New.
type Server struct {
	Faults *simfault.Injector

	opts    Options
	handler http.Handler

	mu     sync.Mutex
	tokens map[string]time.Time // issued token -> expiry
	syncs  []SyncRequest

	onb *onboarding // onboarding.go
}

// New returns a simulator seeded from simseed.
func New(opts Options) *Server {
	if opts.PartnerID == "" {
		opts.PartnerID = simseed.PartnerTenantID
	}
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.Token == "" {
		opts.Token = DefaultToken
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	s := &Server{opts: opts, tokens: map[string]time.Time{}, Faults: simfault.New(errorBody), onb: newOnboarding(opts.Relationships)}
	s.handler = s.Faults.Middleware(http.HandlerFunc(s.route))
	return s
}

// TokenURL derives the token endpoint from a client base URL.
func TokenURL(baseURL string) string {
	return strings.TrimSuffix(baseURL, BasePath) + TokenPath
}

// ServeHTTP serves the whole simulator, fault injection included.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// SyncRequests returns the accepted sync requests, oldest first.
func (s *Server) SyncRequests() []SyncRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SyncRequest(nil), s.syncs...)
}

// RevokeTokens invalidates every issued token (not the static one), as if
// Entra rotated keys or the app lost its consent.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// errorBody renders Azure Functions' bodies for injected faults: `null` for
// 401 as documented, nothing for everything else.
func errorBody(status int) (string, []byte) {
	if status == http.StatusUnauthorized {
		return "application/json; charset=utf-8", []byte("null")
	}
	return "", nil
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == TokenPath {
		s.issueToken(w, r)
		return
	}
	// Functions routes are case-insensitive; a wrong method is a 404 there.
	name, ok := cutPrefixFold(r.URL.Path, BasePath)
	is := func(fn, method string) bool { return ok && strings.EqualFold(name, fn) && r.Method == method }
	switch {
	case is("Customers", http.MethodGet) && !s.opts.DisableCustomersRoute, is("ListCustomers", http.MethodGet) && !s.opts.DisableListCustomersRoute:
		s.listCustomers(w, r)
	case is("GetAvailableRoles", http.MethodGet):
		s.availableRoles(w, r)
	case is("SynchronizePartnerCustomers", http.MethodPost):
		s.synchronize(w, r)
	case ok && s.onboardingRoute(w, r, name):
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

type customerEntity struct {
	TenantDomain   string
	CompanyName    string
	PrimaryContact string
	FirstName      string
	LastName       string
	PartitionKey   string
	RowKey         string
	Timestamp      *time.Time // always null on the wire
	ETag           struct{}   // always {} on the wire
}

type roleEntity struct {
	PartitionKey string
	RowKey       string
	Name         string
	Description  string
	Timestamp    *time.Time
	ETag         struct{}
}

func (s *Server) listCustomers(w http.ResponseWriter, r *http.Request) {
	if !s.partnerCall(w, r, "providerId") {
		return
	}
	items := []customerEntity{}
	for _, o := range simseed.Orgs {
		if o.InGDAP {
			items = append(items, customerEntity{
				TenantDomain: o.Domain(), CompanyName: o.Name, PrimaryContact: o.Contact.Email,
				FirstName: o.Contact.First, LastName: o.Contact.Last,
				PartitionKey: s.opts.PartnerID, RowKey: o.TenantID,
			})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"CurrentEntitiesSynced": items})
}

func (s *Server) availableRoles(w http.ResponseWriter, r *http.Request) {
	if !s.partnerCall(w, r, "partnerId") {
		return
	}
	items := make([]roleEntity, 0, len(simseed.GDAPRoles))
	for _, g := range simseed.GDAPRoles {
		items = append(items, roleEntity{PartitionKey: RolesPartitionKey, RowKey: g.ID, Name: g.Name, Description: g.Description})
	}
	writeJSON(w, http.StatusOK, map[string]any{"AvailableRoles": items})
}

func (s *Server) synchronize(w http.ResponseWriter, r *http.Request) {
	if !s.partnerCall(w, r, "partnerId") {
		return
	}
	email := r.URL.Query().Get("email")
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		writeJSON(w, http.StatusBadRequest, "Please pass a valid email on the query string")
		return
	}
	s.mu.Lock()
	s.syncs = append(s.syncs, SyncRequest{PartnerID: r.URL.Query().Get("partnerId"), Email: email, At: time.Now()})
	s.mu.Unlock()
	// A struct keeps the documented key order (Result, then Message).
	writeJSON(w, http.StatusOK, struct{ Result, Message string }{"Accepted", SyncAcceptedMessage})
}

// partnerCall enforces the bearer token and the partner query parameter
// (named param) and writes the failure answer when one of them is wrong.
func (s *Server) partnerCall(w http.ResponseWriter, r *http.Request, param string) bool {
	if !s.authorized(r) {
		unauthorized(w)
		return false
	}
	v := r.URL.Query().Get(param)
	if v == "" {
		writeJSON(w, http.StatusBadRequest, "Please pass a "+param+" on the query string")
		return false
	}
	// The back end compares the token's tenant with the partner id.
	if !strings.EqualFold(v, s.opts.PartnerID) {
		unauthorized(w)
		return false
	}
	return true
}

func (s *Server) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return false
	}
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.Token)) == 1 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[tok]
	return ok && time.Now().Before(exp)
}

// issueToken is a minimal Entra v2 client-credentials grant: form body,
// invalid_client / unauthorized_client / invalid_request errors in Entra's
// JSON shape, opaque tokens.
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests.")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		oauthError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "AADSTS90014: The request body could not be parsed.")
		return
	}
	f := r.PostForm
	switch {
	case f.Get("grant_type") != "client_credentials":
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
	case f.Get("client_id") == "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'client_id'.")
	case !strings.HasSuffix(f.Get("scope"), "/.default"):
		oauthError(w, http.StatusBadRequest, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.")
	case f.Get("client_id") != s.opts.ClientID:
		oauthError(w, http.StatusBadRequest, "unauthorized_client", "AADSTS700016: Application was not found in the directory.")
	case subtle.ConstantTimeCompare([]byte(f.Get("client_secret")), []byte(s.opts.ClientSecret)) != 1:
		oauthError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
	default:
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		tok := "gdapsim." + hex.EncodeToString(b)
		s.mu.Lock()
		s.tokens[tok] = time.Now().Add(s.opts.TokenTTL)
		s.mu.Unlock()
		secs := int(s.opts.TokenTTL / time.Second)
		writeJSON(w, http.StatusOK, struct {
			TokenType    string `json:"token_type"`
			ExpiresIn    int    `json:"expires_in"`
			ExtExpiresIn int    `json:"ext_expires_in"`
			AccessToken  string `json:"access_token"`
		}{"Bearer", secs, secs, tok})
	}
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	// Entra appends trace ids on further lines; clients must not rely on them.
	writeJSON(w, status, map[string]any{
		"error": code, "error_description": desc + "\r\nTrace ID: 00000000-0000-0000-0000-000000000000",
		"timestamp": time.Now().UTC().Format("2006-01-02 15:04:05Z"),
	})
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte("null"))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", false
	}
	return s[len(prefix):], true
}
