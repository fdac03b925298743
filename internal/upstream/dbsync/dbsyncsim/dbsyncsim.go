// Package dbsyncsim simulates the DBSync Partner API v2 licence manager
// (docs/vendors.md, DBSync): four POST+JSON methods under
// /<version>/appcode/v2/partner/, static partner credentials inside every
// body, and "always HTTP 200" with failures in value[].errorMessage.
//
// The texts of errorMessage and the shapes of authenticateUser and
// licenseDetails are not documented publicly; the ones here are the
// simulator's choice and the client's classification table matches them.
package dbsyncsim

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/partnerhub/gateway/internal/upstream/simfault"
	"github.com/partnerhub/gateway/internal/upstream/simseed"
)

// BasePath is the staging environment's v2 partner root; the client's
// BaseURL is the server URL plus BasePath.
const BasePath = "/appcenter-2-2/appcode/v2/partner/"

// Default credentials, used when Options leaves them empty.
const (
	DefaultAppKey   = "sim-dbsync-partner-app-key"
	DefaultAppToken = "sim-dbsync-partner-app-token"
)

// Error texts the simulator writes into errorMessage[]. Real DBSync wording
// is unknown; the client matches key phrases, not these exact strings.
const (
	msgInvalidCredentials = "Invalid partnerAppKey or partnerAppToken"
	msgAlreadyRegistered  = "User already registered: %s"
	msgUserNotFound       = "User not found: %s"
	msgNotRegistered      = "User is not registered: %s"
	msgQuotaExhausted     = "Annual licensed user quota exhausted (%d of %d used)"
	msgRequired           = "%s is required"
)

// Options configure a simulator.
type Options struct {
	AppKey      string // DefaultAppKey when empty
	AppToken    string // DefaultAppToken when empty
	AnnualQuota int    // simseed.DBSyncAnnualQuota when 0
	Variant     Variant
}

// Variant plays another plausible reading of what DBSync leaves
// undocumented (its message texts, the quota and validity field names);
// the zero Variant is the simulator's default reading.
type Variant struct {
	// AltMessages writes other wording: "Invalid partner application key
	// or token", "User <name> already exists", "No licenses available",
	// "User <name> does not exist", and for an expired licence
	// "License expired for user <name>" instead of a false validity flag.
	AltMessages bool
	// ValidityField names authenticateUser's flag ("isValid" when empty).
	ValidityField string
	// ExpiryField, when set, adds the user's licence expiry under this name.
	ExpiryField string
	// AltQuota sends the quota as "quota" with licensedUsers, usedLicenses
	// and activeUsers.
	AltQuota bool
	// PascalKeys sends every key with an upper-case first letter.
	PascalKeys bool
}

// Request is what the simulator last received, for tests asserting the
// exact wire format.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// Server is the simulated licence manager.
type Server struct {
	// Faults injects transport failures in front of the API.
	Faults *simfault.Injector

	opts    Options
	handler http.Handler

	mu        sync.Mutex
	companies map[string]*company // by lower-case name
	users     map[string]*user    // by endUserName, unique per partner app
	nextCo    int
	nextUser  int
	used      int // annual quota consumed; never decreases
	last      Request
}

type company struct{ id, name string }

type user struct {
	id, name string
	co       *company
	active   bool
	expired  bool
}

// ExpireLicense lets a registered user's licence expire: authenticateUser
// then reports it (a false validity flag, an expiry in the past, or an
// errorMessage, depending on the Variant).
func (s *Server) ExpireLicense(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[name]; u != nil {
		u.expired = true
	}
}

// New builds a simulator seeded with simseed.LicensedUsers (each of which
// has consumed one seat of the annual quota).
func New(opts Options) *Server {
	if opts.AppKey == "" {
		opts.AppKey = DefaultAppKey
	}
	if opts.AppToken == "" {
		opts.AppToken = DefaultAppToken
	}
	if opts.AnnualQuota == 0 {
		opts.AnnualQuota = simseed.DBSyncAnnualQuota
	}
	s := &Server{
		opts:      opts,
		companies: map[string]*company{},
		users:     map[string]*user{},
		// Start where the vendor's documented example ids are.
		nextCo:   9877,
		nextUser: 5773,
	}
	for _, lu := range simseed.LicensedUsers {
		s.register(lu.Company, lu.User)
	}
	s.Faults = simfault.New(errorPage)
	s.handler = s.Faults.Middleware(http.HandlerFunc(s.serve))
	return s
}

// ServeHTTP serves the API behind the fault injector.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// LastRequest returns the last API request that reached a method handler.
func (s *Server) LastRequest() Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.last
	r.Header = r.Header.Clone()
	r.Body = slices.Clone(r.Body)
	return r
}

// Wire shapes (camelCase, ids as numeric strings).
type body struct {
	PartnerAppKey   string `json:"partnerAppKey"`
	PartnerAppToken string `json:"partnerAppToken"`
	EndUserCompany  string `json:"endUserCompany"`
	EndUserName     string `json:"endUserName"`
}

type entry struct {
	CompanyID    string   `json:"companyId,omitempty"`
	UserID       string   `json:"userId,omitempty"`
	UserName     string   `json:"userName,omitempty"`
	CompanyName  string   `json:"companyName,omitempty"`
	IsValid      *bool    `json:"isValid,omitempty"`
	Expiry       string   `json:"licenseExpiry,omitempty"`
	ErrorMessage []string `json:"errorMessage"`
}

type quota struct {
	AnnualQuota int `json:"annualQuota"`
	Used        int `json:"used"`
	Active      int `json:"active"`
}

type envelope struct {
	Value        []entry `json:"value"`
	LicenseQuota *quota  `json:"licenseQuota,omitempty"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	method, ok := strings.CutPrefix(r.URL.Path, BasePath)
	if !ok || !slices.Contains([]string{"registerUser", "unregisterUser", "authenticateUser", "licenseDetails"}, method) {
		writePage(w, http.StatusNotFound)
		return
	}
	// The framework, not the API, rejects wrong methods and media types,
	// so these are the servlet container's pages rather than errorMessage.
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writePage(w, http.StatusMethodNotAllowed)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writePage(w, http.StatusUnsupportedMediaType)
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	var in body
	if err == nil {
		err = json.Unmarshal(raw, &in)
	}
	if err != nil {
		writePage(w, http.StatusBadRequest)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: raw}
	var out envelope
	if msgs := s.check(method, in); len(msgs) > 0 {
		out.Value = []entry{{UserName: in.EndUserName, ErrorMessage: msgs}}
	} else {
		switch method {
		case "registerUser":
			out.Value = []entry{s.handleRegister(in)}
		case "unregisterUser":
			out.Value = []entry{s.handleUnregister(in)}
		case "authenticateUser":
			out.Value = []entry{s.handleAuthenticate(in)}
		case "licenseDetails":
			out = s.handleDetails(in)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s.variant(out))
}

// variant renders out with the Variant's names.
func (s *Server) variant(out envelope) any {
	v := s.opts.Variant
	if v == (Variant{}) {
		return out
	}
	b, _ := json.Marshal(out)
	var m any
	_ = json.Unmarshal(b, &m)
	renames := map[string]string{}
	if v.ValidityField != "" {
		renames["isValid"] = v.ValidityField
	}
	if v.ExpiryField != "" {
		renames["licenseExpiry"] = v.ExpiryField
	}
	if v.AltQuota {
		renames["licenseQuota"], renames["annualQuota"], renames["used"], renames["active"] = "quota", "licensedUsers", "usedLicenses", "activeUsers"
	}
	return rename(m, renames, v.PascalKeys)
}

func rename(m any, names map[string]string, pascal bool) any {
	switch x := m.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, v := range x {
			if n, ok := names[k]; ok {
				k = n
			}
			if pascal && k != "" {
				k = strings.ToUpper(k[:1]) + k[1:]
			}
			out[k] = rename(v, names, pascal)
		}
		return out
	case []any:
		for i := range x {
			x[i] = rename(x[i], names, pascal)
		}
	}
	return m
}

// check reports missing required fields, then bad credentials. licenseDetails
// takes an optional company and (per the lead's brief) an optional user.
func (s *Server) check(method string, in body) []string {
	var msgs []string
	req := func(name, v string) {
		if strings.TrimSpace(v) == "" {
			msgs = append(msgs, fmt.Sprintf(msgRequired, name))
		}
	}
	req("partnerAppKey", in.PartnerAppKey)
	req("partnerAppToken", in.PartnerAppToken)
	if method != "licenseDetails" {
		req("endUserCompany", in.EndUserCompany)
		req("endUserName", in.EndUserName)
	}
	if len(msgs) > 0 {
		return msgs
	}
	if in.PartnerAppKey != s.opts.AppKey || in.PartnerAppToken != s.opts.AppToken {
		if s.opts.Variant.AltMessages {
			return []string{"Invalid partner application key or token"}
		}
		return []string{msgInvalidCredentials}
	}
	return nil
}

func failure(name, format string, args ...any) entry {
	return entry{UserName: name, ErrorMessage: []string{fmt.Sprintf(format, args...)}}
}

func (u *user) entry() entry {
	return entry{CompanyID: u.co.id, UserID: u.id, UserName: u.name, CompanyName: u.co.name, ErrorMessage: []string{}}
}

func (s *Server) handleRegister(in body) entry {
	alt := s.opts.Variant.AltMessages
	if u := s.users[in.EndUserName]; u != nil && u.active {
		if alt {
			return failure(in.EndUserName, "User %s already exists", in.EndUserName)
		}
		return failure(in.EndUserName, msgAlreadyRegistered, in.EndUserName)
	}
	if s.used >= s.opts.AnnualQuota {
		if alt {
			return failure(in.EndUserName, "No licenses available")
		}
		return failure(in.EndUserName, msgQuotaExhausted, s.used, s.opts.AnnualQuota)
	}
	return s.register(in.EndUserCompany, in.EndUserName).entry()
}

// register activates a user, consuming one seat of the annual quota even
// when the user was registered (and unregistered) before this year.
func (s *Server) register(coName, name string) *user {
	key := strings.ToLower(coName)
	co := s.companies[key]
	if co == nil {
		co = &company{id: strconv.Itoa(s.nextCo), name: coName}
		s.nextCo++
		s.companies[key] = co
	}
	u := s.users[name]
	if u == nil {
		u = &user{id: strconv.Itoa(s.nextUser), name: name}
		s.nextUser++
		s.users[name] = u
	}
	u.co, u.active = co, true
	s.used++
	return u
}

// lookup finds a user by name within the given company.
func (s *Server) lookup(coName, name string) *user {
	u := s.users[name]
	if u == nil || !strings.EqualFold(u.co.name, coName) {
		return nil
	}
	return u
}

func (s *Server) handleUnregister(in body) entry {
	u := s.lookup(in.EndUserCompany, in.EndUserName)
	switch {
	case u == nil:
		return failure(in.EndUserName, msgUserNotFound, in.EndUserName)
	case !u.active:
		return failure(in.EndUserName, msgNotRegistered, in.EndUserName)
	}
	u.active = false // the annual used count stays: the seat was consumed
	return u.entry()
}

func (s *Server) handleAuthenticate(in body) entry {
	u := s.lookup(in.EndUserCompany, in.EndUserName)
	alt := s.opts.Variant.AltMessages
	switch {
	case u == nil && alt:
		return failure(in.EndUserName, "User %s does not exist", in.EndUserName)
	case u == nil:
		return failure(in.EndUserName, msgUserNotFound, in.EndUserName)
	case u.expired && alt:
		return failure(in.EndUserName, "License expired for user %s", in.EndUserName)
	}
	e := u.entry()
	valid := u.active && !u.expired
	e.IsValid = &valid
	if s.opts.Variant.ExpiryField != "" {
		exp := "2099-12-31T00:00:00"
		if u.expired {
			exp = "2024-12-31T00:00:00" // without a zone, as ServiceStack-era hosts send
		}
		e.Expiry = exp
	}
	return e
}

func (s *Server) handleDetails(in body) envelope {
	out := envelope{Value: []entry{}, LicenseQuota: &quota{AnnualQuota: s.opts.AnnualQuota, Used: s.used}}
	for _, u := range s.users {
		if !u.active {
			continue
		}
		out.LicenseQuota.Active++
		if (in.EndUserCompany == "" || strings.EqualFold(u.co.name, in.EndUserCompany)) &&
			(in.EndUserName == "" || u.name == in.EndUserName) {
			out.Value = append(out.Value, u.entry())
		}
	}
	slices.SortFunc(out.Value, func(a, b entry) int {
		x, _ := strconv.Atoi(a.UserID)
		y, _ := strconv.Atoi(b.UserID)
		return x - y
	})
	return out
}

// errorPage renders a servlet-container style HTML error page: transport
// failures (and faults) never carry the API's JSON envelope.
func errorPage(status int) (string, []byte) {
	title := fmt.Sprintf("HTTP Status %d – %s", status, http.StatusText(status))
	page := fmt.Sprintf("<!doctype html><html lang=\"en\"><head><title>%s</title></head>"+
		"<body><h1>%s</h1><hr/><p><b>Type</b> Status Report</p><hr/><h3>DBSync AppCenter</h3></body></html>",
		html.EscapeString(title), html.EscapeString(title))
	return "text/html;charset=utf-8", []byte(page)
}

func writePage(w http.ResponseWriter, status int) {
	ct, b := errorPage(status)
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
