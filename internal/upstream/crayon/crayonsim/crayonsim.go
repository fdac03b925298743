// Package crayonsim simulates the Crayon Cloud-iQ "Customer API" closely
// enough for the gateway's client to be tested against it: the password-grant
// token endpoint with Basic client auth, bearer-protected customer tenants and
// agreement consents, 1-based Page/PageSize paging with TotalHits, PascalCase
// JSON, ASP.NET's case-insensitive routes with optional trailing slashes, and
// Crayon's error bodies (including the empty-bodied 404).
package crayonsim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/partnerhub/gateway/internal/upstream/simfault"
	"github.com/partnerhub/gateway/internal/upstream/simseed"
)

// Credentials and limits used when Options leaves them empty.
const (
	DefaultClientID     = "sim-crayon-client"
	DefaultClientSecret = "sim-crayon-client-secret"
	DefaultUsername     = "api-user@partnerhub.example"
	DefaultPassword     = "sim-crayon-password"
	DefaultTokenTTL     = 3600 * time.Second
	DefaultMaxPageSize  = 500
)

// Seed layout: tenant ids are assigned from FirstTenantID in seed order, and
// generated T2 customers pad the list to SeedTenantCount so listing needs
// several pages.
const (
	FirstTenantID   = 1001
	SeedTenantCount = 140
	// OrganizationName is the reseller organization simseed.CrayonOrganizationID.
	OrganizationName = "PartnerHub Reseller AB"
	defaultPageSize  = 50
	maxLoggedReqs    = 64
)

// Options configure a simulator. Zero values take the Default* constants.
type Options struct {
	ClientID, ClientSecret string
	Username, Password     string
	TokenTTL               time.Duration
	MaxPageSize            int
	// PageSizeCap, when set, silently serves at most this many tenants per
	// page whatever PageSize asks for, as a Crayon deployment with an
	// undocumented cap would; TotalHits stays the full count.
	PageSizeCap int
	// CapAfterOffset places pages by the PageSize asked for and only then
	// cuts them to PageSizeCap (the other way a server may implement a
	// cap); by default the capped size places the page too.
	CapAfterOffset bool
	// TotalHitsSkew is added to every TotalHits, playing a vendor whose
	// count disagrees with the rows it serves (a broken or racing index).
	TotalHitsSkew int
	// Now is the simulator's clock (token expiry); nil means time.Now.
	Now func() time.Time
}

// Request is what the simulator received, kept so tests can assert on the
// exact headers, query and form a client sent.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Form   url.Values // token requests only
}

// Server is the simulated Crayon API. It is an http.Handler.
type Server struct {
	// Faults injects failures in front of every route.
	Faults *simfault.Injector

	opts    Options
	handler http.Handler

	mu         sync.Mutex
	tokens     map[string]time.Time // access token → expiry
	tenants    []tenant             // ordered by Id
	agreements map[int][]agreement  // tenant id → consents, one per type
	received   []Request

	// subscriptions are ordered by Id (subscriptions.go).
	subscriptions []subscription
	subsPageCap   int
}

// New builds a seeded simulator.
func New(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.Username == "" {
		opts.Username = DefaultUsername
	}
	if opts.Password == "" {
		opts.Password = DefaultPassword
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = DefaultMaxPageSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		Faults:     simfault.New(faultBody),
		opts:       opts,
		tokens:     map[string]time.Time{},
		agreements: map[int][]agreement{},
	}
	s.seed()
	s.seedSubscriptions()
	s.handler = s.Faults.Middleware(http.HandlerFunc(s.route))
	return s
}

// ServeHTTP serves the whole simulator, fault injection included.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Received returns the most recent requests that passed fault injection,
// oldest first (at most 64).
func (s *Server) Received() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.received)
}

// ExpireTokens invalidates every issued access token, as a token expiring
// server-side before the client expected would.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// Wire shapes (PascalCase, nulls serialized like Newtonsoft does).

type objectRef struct {
	ID   int    `json:"Id"`
	Name string `json:"Name"`
}

type organization struct {
	ID                int    `json:"Id"`
	Name              string `json:"Name"`
	ParentID          *int   `json:"ParentId"`
	CrayonCompanyName string `json:"CrayonCompanyName"`
	AccountNumber     int    `json:"AccountNumber"`
}

type tenant struct {
	ID                           int          `json:"Id"`
	Name                         string       `json:"Name"`
	Publisher                    objectRef    `json:"Publisher"`
	Program                      objectRef    `json:"Program"`
	PublisherCustomerID          *string      `json:"PublisherCustomerId"`
	ExternalPublisherCustomerID  *string      `json:"ExternalPublisherCustomerId"`
	Domain                       *string      `json:"Domain"`
	DomainPrefix                 string       `json:"DomainPrefix"`
	Reference                    string       `json:"Reference"`
	CustomerTenantType           int          `json:"CustomerTenantType"`
	EntityStatus                 int          `json:"EntityStatus"`
	Organization                 organization `json:"Organization"`
	InvoiceProfile               objectRef    `json:"InvoiceProfile"`
	Consumer                     *objectRef   `json:"Consumer"`
	ResellerMarkup               float64      `json:"ResellerMarkup"`
	DefaultSubscriptionPriceType int          `json:"DefaultSubscriptionPriceType"`
	Agreement                    *agreement   `json:"Agreement"` // always null here
}

// agreement is a ServiceAccountAgreement. Pointers let POST validation tell
// a missing field from a zero one.
type agreement struct {
	FirstName     *string `json:"FirstName"`
	LastName      *string `json:"LastName"`
	PhoneNumber   *string `json:"PhoneNumber"`
	Email         *string `json:"Email"`
	DateAgreed    *string `json:"DateAgreed"`
	AgreementType *int    `json:"AgreementType"`
}

type collection[T any] struct {
	Items     []T   `json:"Items"`
	TotalHits int64 `json:"TotalHits"`
}

type token struct {
	AccessToken   *string `json:"AccessToken"`
	IdentityToken *string `json:"IdentityToken"`
	Error         *string `json:"Error"`
	ExpiresIn     int     `json:"ExpiresIn"`
	TokenType     *string `json:"TokenType"`
	RefreshToken  *string `json:"RefreshToken"`
}

// ObjectError is one entry of an error body's ObjectErrors.
type ObjectError struct {
	ErrorCode  string            `json:"ErrorCode"`
	Message    string            `json:"Message"`
	Parameters map[string]string `json:"Parameters"`
}

type errorBody struct {
	ErrorCode    string            `json:"ErrorCode"`
	Message      string            `json:"Message"`
	Parameters   map[string]string `json:"Parameters"`
	ObjectErrors []ObjectError     `json:"ObjectErrors"`
}

func ptr[T any](v T) *T { return &v }

func (s *Server) seed() {
	org := organization{ID: simseed.CrayonOrganizationID, Name: OrganizationName,
		ParentID: ptr(1), CrayonCompanyName: "Crayon AB", AccountNumber: 100470}
	base := tenant{
		Publisher: objectRef{2, "Microsoft"}, Program: objectRef{1, "CSP"},
		Organization: org, InvoiceProfile: objectRef{57, "Default invoice profile"},
		DefaultSubscriptionPriceType: 1, CustomerTenantType: 2,
	}
	id := FirstTenantID
	for _, o := range simseed.Orgs {
		if !o.InCrayon {
			continue
		}
		t := base
		t.ID, t.Name, t.DomainPrefix = id, o.Name, o.DomainPrefix
		t.PublisherCustomerID = ptr(o.TenantID)
		if !o.CrayonWithoutTenantID {
			t.ExternalPublisherCustomerID = ptr(o.TenantID)
		}
		// Only every other tenant carries Domain, so clients must derive it
		// from DomainPrefix for the rest.
		if len(s.tenants)%2 == 0 {
			t.Domain = ptr(o.Domain())
		}
		t.CustomerTenantType = o.CrayonType
		if o.Removed {
			t.EntityStatus = 1
		}
		s.tenants = append(s.tenants, t)
		id++
	}
	for n := 1; !simseed.Scaled && len(s.tenants) < SeedTenantCount; n++ {
		t := base
		t.ID, t.Name = id, fmt.Sprintf("Example Customer %03d", n)
		t.DomainPrefix = fmt.Sprintf("examplecustomer%03d", n)
		t.Reference = fmt.Sprintf("EXT-%03d", n)
		guid := fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
		t.PublisherCustomerID, t.ExternalPublisherCustomerID = ptr(guid), ptr(guid)
		if n%2 == 0 {
			t.Domain = ptr(t.DomainPrefix + ".onmicrosoft.com")
		}
		s.tenants = append(s.tenants, t)
		id++
	}
	first := simseed.Orgs[0]
	s.agreements[FirstTenantID] = []agreement{{
		FirstName: ptr(first.Contact.First), LastName: ptr(first.Contact.Last),
		PhoneNumber: ptr(first.Contact.Phone), Email: ptr(first.Contact.Email),
		DateAgreed: ptr("2024-03-01T09:30:00Z"), AgreementType: ptr(1),
	}}
}

// route dispatches like ASP.NET routing would: case-insensitive paths,
// optional trailing slash, int route constraints (a non-int id is no route),
// then 405 for a wrong verb, then authentication.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	s.record(r)
	p := strings.ToLower(strings.TrimSuffix(r.URL.Path, "/"))
	seg := strings.Split(strings.TrimPrefix(p, "/"), "/")
	switch {
	case p == "/api/v1/ping":
		if allow(w, r, http.MethodGet) {
			writeJSON(w, http.StatusOK, map[string]string{"Version": "1.0.0-sim", "Environment": "Simulator"})
		}
	case p == "/api/v1/connect/token":
		if allow(w, r, http.MethodPost) {
			s.token(w, r)
		}
	case len(seg) >= 3 && seg[0] == "api" && seg[1] == "v1" && seg[2] == "customertenants":
		s.customerTenants(w, r, seg[3:])
	case len(seg) >= 3 && seg[0] == "api" && seg[1] == "v1" && seg[2] == "subscriptions":
		s.subscriptionRoutes(w, r, seg[3:])
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (s *Server) customerTenants(w http.ResponseWriter, r *http.Request, rest []string) {
	var id int
	if len(rest) > 0 {
		n, err := strconv.Atoi(rest[0])
		if err != nil || n <= 0 || strconv.Itoa(n) != rest[0] {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		id = n
	}
	switch {
	case len(rest) == 0:
		if allow(w, r, http.MethodGet) && s.authorized(w, r) {
			s.listTenants(w, r)
		}
	case len(rest) == 1:
		if allow(w, r, http.MethodGet) && s.authorized(w, r) {
			s.getTenant(w, id)
		}
	case len(rest) == 2 && rest[1] == "agreements":
		if allow(w, r, http.MethodGet, http.MethodPost) && s.authorized(w, r) {
			if r.Method == http.MethodGet {
				s.listAgreements(w, r, id)
			} else {
				s.addAgreement(w, r, id)
			}
		}
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (s *Server) record(r *http.Request) {
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone()}
	if strings.HasSuffix(strings.ToLower(strings.TrimSuffix(r.URL.Path, "/")), "/connect/token") {
		_ = r.ParseForm() // the token handler reads r.PostForm afterwards
		req.Form = r.PostForm
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = append(s.received, req)
	if len(s.received) > maxLoggedReqs {
		s.received = slices.Delete(s.received, 0, len(s.received)-maxLoggedReqs)
	}
}

func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	if slices.Contains(methods, r.Method) {
		return true
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeError(w, http.StatusMethodNotAllowed, "The requested resource does not support http method '"+r.Method+"'.")
	return false
}

// token implements the resource-owner password grant with Basic client
// authentication. Every failure is a 400 carrying a Token whose Error is set.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm() // only a form-encoded body fills PostForm
	id, secret, ok := r.BasicAuth()
	form := r.PostForm
	valid := ok && equal(id, s.opts.ClientID) && equal(secret, s.opts.ClientSecret) &&
		form.Get("grant_type") == "password" &&
		equal(form.Get("username"), s.opts.Username) && equal(form.Get("password"), s.opts.Password) &&
		slices.Contains(strings.Fields(form.Get("scope")), "CustomerApi")
	if !valid {
		writeJSON(w, http.StatusBadRequest, token{Error: ptr("invalid_grant")})
		return
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	access := "sim." + hex.EncodeToString(b)
	now := s.opts.Now()
	s.mu.Lock()
	for t, exp := range s.tokens {
		if !now.Before(exp) {
			delete(s.tokens, t)
		}
	}
	s.tokens[access] = now.Add(s.opts.TokenTTL)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, token{AccessToken: &access, ExpiresIn: int(s.opts.TokenTTL / time.Second), TokenType: ptr("Bearer")})
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// authorized answers 401 unless the request carries a live bearer token.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	s.mu.Lock()
	exp, ok := s.tokens[tok]
	s.mu.Unlock()
	if strings.EqualFold(scheme, "Bearer") && ok && s.opts.Now().Before(exp) {
		return true
	}
	w.Header().Set("WWW-Authenticate", "Bearer")
	writeError(w, http.StatusUnauthorized, "Invalid token")
	return false
}

// query reads query parameters case-insensitively, as ASP.NET model binding does.
type query url.Values

func (q query) get(name string) string {
	for k, v := range q {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// ints parses the named int parameters; empty means 0 (no filter).
func (q query) ints(names ...string) (map[string]int, []ObjectError) {
	out := map[string]int{}
	var bad []ObjectError
	for _, n := range names {
		v := q.get(n)
		if v == "" {
			continue
		}
		i, err := strconv.Atoi(v)
		if err != nil {
			bad = append(bad, ObjectError{ErrorCode: n, Message: fmt.Sprintf("The value '%s' is not valid for %s.", v, n), Parameters: map[string]string{}})
			continue
		}
		out[n] = i
	}
	return out, bad
}

func (s *Server) listTenants(w http.ResponseWriter, r *http.Request) {
	q := query(r.URL.Query())
	n, bad := q.ints("OrganizationId", "PublisherId", "ProgramId", "CustomerTenantType", "Page", "PageSize")
	if len(bad) > 0 {
		writeError(w, http.StatusBadRequest, "The request is invalid.", bad...)
		return
	}
	switch org := n["OrganizationId"]; {
	case org == 0:
		writeError(w, http.StatusBadRequest, "OrganizationId is required.")
		return
	case org != simseed.CrayonOrganizationID:
		writeError(w, http.StatusForbidden, fmt.Sprintf("Access to organization %d is denied.", org))
		return
	}
	page, size := max(n["Page"], 1), n["PageSize"]
	if size == 0 {
		size = defaultPageSize
	}
	if n["Page"] < 0 || size < 0 || size > s.opts.MaxPageSize {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Page must be positive and PageSize between 1 and %d.", s.opts.MaxPageSize))
		return
	}
	stride := size // what places the page
	if c := s.opts.PageSizeCap; c > 0 {
		size = min(size, c)
		if !s.opts.CapAfterOffset {
			stride = size
		}
	}
	domain, prefix, search := strings.ToLower(q.get("Domain")), strings.ToLower(q.get("DomainPrefix")), strings.ToLower(q.get("Search"))
	s.mu.Lock()
	var hits []tenant
	for _, t := range s.tenants {
		derived := t.DomainPrefix + ".onmicrosoft.com"
		switch {
		case n["PublisherId"] != 0 && t.Publisher.ID != n["PublisherId"],
			n["ProgramId"] != 0 && t.Program.ID != n["ProgramId"],
			n["CustomerTenantType"] != 0 && t.CustomerTenantType != n["CustomerTenantType"],
			domain != "" && domain != strings.ToLower(deref(t.Domain)) && domain != derived,
			prefix != "" && !strings.HasPrefix(strings.ToLower(t.DomainPrefix), prefix),
			search != "" && !strings.Contains(strings.ToLower(t.Name), search) && !strings.Contains(strings.ToLower(t.Reference), search):
			continue
		}
		hits = append(hits, t)
	}
	s.mu.Unlock()
	out := collection[tenant]{Items: []tenant{}, TotalHits: int64(len(hits) + s.opts.TotalHitsSkew)}
	if from := (page - 1) * stride; from < len(hits) {
		out.Items = hits[from:min(from+size, len(hits))]
	}
	writeJSON(w, http.StatusOK, out)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// findTenant returns the index of tenant id; callers hold s.mu.
func (s *Server) findTenant(id int) (int, bool) {
	return slices.BinarySearchFunc(s.tenants, id, func(t tenant, id int) int { return t.ID - id })
}

func (s *Server) getTenant(w http.ResponseWriter, id int) {
	s.mu.Lock()
	i, ok := s.findTenant(id)
	var t tenant
	if ok {
		t = s.tenants[i]
	}
	s.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusNotFound) // Crayon answers unknown ids with no body
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) listAgreements(w http.ResponseWriter, r *http.Request, id int) {
	q := query(r.URL.Query())
	n, bad := q.ints("AgreementTypeConsent")
	if len(bad) > 0 {
		writeError(w, http.StatusBadRequest, "The request is invalid.", bad...)
		return
	}
	_, filter := n["AgreementTypeConsent"]
	s.mu.Lock()
	_, ok := s.findTenant(id)
	items := []agreement{}
	for _, a := range s.agreements[id] {
		if !filter || *a.AgreementType == n["AgreementTypeConsent"] {
			items = append(items, a)
		}
	}
	s.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	writeJSON(w, http.StatusOK, collection[agreement]{Items: items, TotalHits: int64(len(items))})
}

func (s *Server) addAgreement(w http.ResponseWriter, r *http.Request, id int) {
	s.mu.Lock()
	_, ok := s.findTenant(id)
	s.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	var a agreement
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&a); err != nil {
		writeError(w, http.StatusBadRequest, "The request body could not be read as a ServiceAccountAgreement.")
		return
	}
	var bad []ObjectError
	need := func(field string, missing bool, msg string) {
		if missing {
			bad = append(bad, ObjectError{ErrorCode: field, Message: msg, Parameters: map[string]string{}})
		}
	}
	need("FirstName", strings.TrimSpace(deref(a.FirstName)) == "", "'First Name' must not be empty.")
	need("LastName", strings.TrimSpace(deref(a.LastName)) == "", "'Last Name' must not be empty.")
	need("Email", !strings.Contains(deref(a.Email), "@"), "'Email' must be a valid email address.")
	agreed, err := parseDate(deref(a.DateAgreed))
	need("DateAgreed", err != nil, "'Date Agreed' must be a valid date.")
	need("AgreementType", a.AgreementType == nil || (*a.AgreementType != 0 && *a.AgreementType != 1), "'Agreement Type' must be 0 (MicrosoftCloudAgreement) or 1 (MicrosoftCustomerAgreement).")
	if len(bad) > 0 {
		writeError(w, http.StatusBadRequest, "Validation failed.", bad...)
		return
	}
	a.DateAgreed = ptr(agreed.UTC().Format(time.RFC3339))
	s.mu.Lock()
	// One consent per agreement type: a newer one replaces the older.
	list := slices.DeleteFunc(s.agreements[id], func(x agreement) bool { return *x.AgreementType == *a.AgreementType })
	s.agreements[id] = append(list, a)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, a)
}

// parseDate accepts DateTimeOffset text with or without an offset (no offset
// is read as UTC). The zero date counts as missing.
func parseDate(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		t, err = time.Parse("2006-01-02T15:04:05.999999999", v)
	}
	if err == nil && t.IsZero() {
		err = fmt.Errorf("zero date")
	}
	return t, err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// errorCode renders Crayon's "<status> <StatusName>" form, e.g.
// "500 InternalServerError".
func errorCode(status int) string {
	return fmt.Sprintf("%d %s", status, strings.ReplaceAll(http.StatusText(status), " ", ""))
}

func renderError(status int, msg string, objs ...ObjectError) []byte {
	if objs == nil {
		objs = []ObjectError{}
	}
	b, _ := json.Marshal(errorBody{ErrorCode: errorCode(status), Message: msg, Parameters: map[string]string{}, ObjectErrors: objs})
	return b
}

func writeError(w http.ResponseWriter, status int, msg string, objs ...ObjectError) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(renderError(status, msg, objs...))
}

// faultBody renders injected statuses the way Crayon would: an Error object,
// except 404 which Crayon sends empty.
func faultBody(status int) (string, []byte) {
	msg := http.StatusText(status)
	switch status {
	case http.StatusNotFound:
		return "", nil
	case http.StatusInternalServerError:
		msg = "Ops. Something broke"
	case http.StatusUnauthorized:
		msg = "Invalid token"
	}
	return "application/json; charset=utf-8", renderError(status, msg)
}
