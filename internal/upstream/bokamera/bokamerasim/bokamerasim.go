// Package bokamerasim simulates the BokaMera API (a ServiceStack host) and
// the Keycloak realm that issues its bearer tokens, on one handler: the
// customer query, the three Axema user sync operations and the token
// endpoint, with BokaMera's two-header auth, AutoQuery paging, ServiceStack
// ResponseStatus error bodies and Keycloak's OAuth error bodies.
package bokamerasim

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/partnerhub/gateway/internal/upstream/simfault"
	"github.com/partnerhub/gateway/internal/upstream/simseed"
)

// TokenPath is the Keycloak token endpoint of the bookmore-admin realm.
const TokenPath = "/realms/bookmore-admin/protocol/openid-connect/token"

// Defaults used when Options leave a field empty.
const (
	DefaultAPIKey   = "0d6b7a3e-2f41-4c8a-9e5b-7c1d3f2a8b60"
	DefaultUsername = "gateway@partnerhub.example"
	DefaultPassword = "sim-bokamera-password"
	// DefaultClientID is the public Keycloak client BokaMera documents.
	DefaultClientID         = "bm-external-api-users"
	DefaultAccessTokenTTL   = 300 * time.Second
	DefaultRefreshTokenTTL  = 1800 * time.Second
	DefaultSyncStepDuration = 2 * time.Second
	// DefaultMaxTake is the AutoQuery page cap on /customers.
	DefaultMaxTake = 100
)

// Options configure a simulator. Zero values take the defaults above.
type Options struct {
	APIKey           string
	Username         string
	Password         string
	AccessTokenTTL   time.Duration
	RefreshTokenTTL  time.Duration
	SyncStepDuration time.Duration // time a job spends Pending, then Processing
	CompanyID        string        // the logged-in user's company
	MaxTake          int
	Now              func() time.Time // clock (tests); default time.Now
	// DateZone, when set, adds a zone to every date: "Z" for UTC, or an
	// offset such as "+01:00" (the time is then shown in that offset).
	// BokaMera's samples carry none, but the contract leaves it open.
	DateZone string
}

// Request is one request as the simulator received it, for tests to inspect.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Form   url.Values // token endpoint form fields
	Body   string     // API request body
}

const maxRecorded = 200

// Server is the simulator. It is safe for concurrent use.
type Server struct {
	Faults *simfault.Injector

	opts    Options
	handler http.Handler

	mu        sync.Mutex
	access    map[string]grant // access token → grant
	refresh   map[string]grant // refresh token → grant
	customers []customerJSON
	jobs      []*job // in creation order
	failNext  string
	requests  []Request
}

type grant struct{ expires time.Time }

type job struct {
	id, company string
	created     time.Time
	failure     string // non-empty: the job ends Failed with this message
}

// New builds a simulator seeded from simseed.
func New(opts Options) *Server {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&opts.APIKey, DefaultAPIKey)
	def(&opts.Username, DefaultUsername)
	def(&opts.Password, DefaultPassword)
	def(&opts.CompanyID, simseed.BokaMeraCompanyID)
	opts.CompanyID = strings.ToLower(opts.CompanyID)
	if opts.AccessTokenTTL <= 0 {
		opts.AccessTokenTTL = DefaultAccessTokenTTL
	}
	if opts.RefreshTokenTTL <= 0 {
		opts.RefreshTokenTTL = DefaultRefreshTokenTTL
	}
	if opts.SyncStepDuration <= 0 {
		opts.SyncStepDuration = DefaultSyncStepDuration
	}
	if opts.MaxTake <= 0 {
		opts.MaxTake = DefaultMaxTake
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		Faults:  simfault.New(errorBody),
		opts:    opts,
		access:  map[string]grant{},
		refresh: map[string]grant{},
	}
	for i, c := range simseed.BookingCustomers {
		// Created/Updated: a spread of past dates, derived from the seed
		// order so every run sends the same.
		created := CustomerEpoch.Add(time.Duration(i) * 29 * time.Hour)
		updated := created.Add(time.Duration(i%5)*24*time.Hour + time.Hour)
		s.customers = append(s.customers, customerJSON{
			ID: c.ID, Firstname: c.First, Lastname: c.Last, Email: c.Email, Phone: c.Phone,
			SubscribedToNewsletter: c.SubscribedToLetters, Visible: c.Visible,
			Created: s.wireTime(created), Updated: s.wireTime(updated),
		})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+TokenPath, s.token)
	mux.HandleFunc("GET /customers", s.api(s.listCustomers))
	mux.HandleFunc("POST /codelock/axema/usersync", s.api(s.createSync))
	mux.HandleFunc("GET /codelock/axema/usersync", s.api(s.querySyncs))
	mux.HandleFunc("GET /codelock/axema/usersync/{id}", s.api(s.getSync))
	// ServiceStack routes by verb: anything else has no handler.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusNotFound, "NotFound",
			fmt.Sprintf("Handler for Request not found (404): %s %s", r.Method, r.URL.Path))
	})
	s.handler = s.Faults.Middleware(s.record(mux))
	return s
}

// TokenURL is the token endpoint of a simulator served at baseURL.
func TokenURL(baseURL string) string { return strings.TrimSuffix(baseURL, "/") + TokenPath }

// ServeHTTP serves the API, the token endpoint and the fault control.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// CompanyID is the logged-in user's company.
func (s *Server) CompanyID() string { return s.opts.CompanyID }

// FailNextSync makes the next created sync job end Failed with message.
func (s *Server) FailNextSync(message string) {
	if message == "" {
		message = "Axema user sync failed"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = message
}

// RevokeSessions ends every Keycloak session, as an admin logout would: the
// issued access and refresh tokens stop working.
func (s *Server) RevokeSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.access)
	clear(s.refresh)
}

// Requests returns the most recent requests received (oldest first).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone()}
		if r.URL.Path == TokenPath {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			_ = r.ParseForm()
			rec.Form = r.PostForm
		} else {
			rec.Body = readAll(r)
			r.Body = io.NopCloser(strings.NewReader(rec.Body))
		}
		s.mu.Lock()
		s.requests = append(s.requests, rec)
		if n := len(s.requests) - maxRecorded; n > 0 {
			s.requests = append([]Request(nil), s.requests[n:]...)
		}
		s.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// token is Keycloak's token endpoint: password and refresh_token grants for
// the public client.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		// Keycloak reads only form bodies, so the parameter is simply missing.
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing form parameter: grant_type")
		return
	}
	f := r.PostForm
	gt := f.Get("grant_type")
	switch {
	case gt == "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing form parameter: grant_type")
		return
	case f.Get("client_id") != DefaultClientID:
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Invalid client or Invalid client credentials")
		return
	}
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch gt {
	case "password":
		if !strings.EqualFold(f.Get("username"), s.opts.Username) || f.Get("password") != s.opts.Password {
			oauthError(w, http.StatusUnauthorized, "invalid_grant", "Invalid user credentials")
			return
		}
	case "refresh_token":
		g, ok := s.refresh[f.Get("refresh_token")]
		switch {
		case !ok:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid refresh token")
			return
		case !now.Before(g.expires):
			oauthError(w, http.StatusBadRequest, "invalid_grant", "Token is not active")
			return
		}
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant_type")
		return
	}
	s.prune(now)
	at, rt := rand.Text(), rand.Text()
	s.access[at] = grant{expires: now.Add(s.opts.AccessTokenTTL)}
	s.refresh[rt] = grant{expires: now.Add(s.opts.RefreshTokenTTL)}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":       at,
		"expires_in":         int(s.opts.AccessTokenTTL / time.Second),
		"refresh_expires_in": int(s.opts.RefreshTokenTTL / time.Second),
		"refresh_token":      rt,
		"token_type":         "Bearer",
		"not-before-policy":  0,
		"session_state":      newGUID(),
		"scope":              "profile email",
	})
}

// prune forgets expired tokens so a long-running -dev simulator stays small.
func (s *Server) prune(now time.Time) {
	for _, m := range []map[string]grant{s.access, s.refresh} {
		for k, g := range m {
			if !now.Before(g.expires) {
				delete(m, k)
			}
		}
	}
}

// api checks BokaMera's two headers (x-api-key and the Keycloak bearer) and
// resolves the CompanyId parameter before calling h.
func (s *Server) api(h func(w http.ResponseWriter, r *http.Request, company string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-api-key") != s.opts.APIKey {
			writeUnauthorized(w, "Invalid or missing x-api-key")
			return
		}
		scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		s.mu.Lock()
		g, ok := s.access[tok]
		s.mu.Unlock()
		switch {
		case !strings.EqualFold(scheme, "Bearer") || !ok:
			writeUnauthorized(w, "You were unauthorized to call this service")
			return
		case !s.opts.Now().Before(g.expires):
			writeUnauthorized(w, "Token has expired")
			return
		}
		company := param(r.URL.Query(), "CompanyId")
		if r.Method == http.MethodPost {
			var body struct{ CompanyId *string }
			if b := readAll(r); strings.TrimSpace(b) != "" {
				if err := json.Unmarshal([]byte(b), &body); err != nil {
					writeStatus(w, http.StatusBadRequest, "SerializationException", "Could not deserialize 'application/json' request")
					return
				}
			}
			if body.CompanyId != nil {
				company = *body.CompanyId
			}
		}
		switch company = strings.ToLower(company); {
		case company == "" || company == zeroGUID:
			company = s.opts.CompanyID
		case !guidRE.MatchString(company):
			writeStatus(w, http.StatusBadRequest, "RequestBindingException", "Unable to bind to request: CompanyId is not a valid Guid")
			return
		case company != s.opts.CompanyID:
			writeStatus(w, http.StatusForbidden, "Forbidden", "You have too low privileges to call this service")
			return
		}
		h(w, r, company)
	}
}

type customerJSON struct {
	ID                     string  `json:"Id"`
	UserID                 *string `json:"UserId"`
	Firstname              string  `json:"Firstname"`
	Lastname               string  `json:"Lastname"`
	Email                  string  `json:"Email"`
	Phone                  string  `json:"Phone"`
	PersonalIdentityNumber *string `json:"PersonalIdentityNumber"`
	SubscribedToNewsletter bool    `json:"SubscribedToNewsletter"`
	Visible                bool    `json:"Visible"`
	Created                string  `json:"Created"`
	Updated                string  `json:"Updated"`
}

// CustomerEpoch is the first seeded customer's creation date (Created).
var CustomerEpoch = time.Date(2024, 1, 15, 9, 30, 0, 0, time.UTC)

// listCustomers is the AutoQuery customer query: Search over name and
// e-mail, optional Visible and CustomerId (docs/vendors.md, BokaMera), Skip/Take
// paging with a capped Take.
func (s *Server) listCustomers(w http.ResponseWriter, r *http.Request, _ string) {
	q := r.URL.Query()
	skip, err1 := intParam(q, "Skip")
	take, err2 := intParam(q, "Take")
	var visible *bool
	if v := param(q, "Visible"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			err1 = err
		}
		visible = &b
	}
	// A Guid? that does not parse fails request binding, as ServiceStack does.
	customerID := strings.ToLower(param(q, "CustomerId"))
	if customerID != "" && !guidRE.MatchString(customerID) {
		err1 = fmt.Errorf("CustomerId %q is not a Guid", customerID)
	}
	if err1 != nil || err2 != nil {
		writeStatus(w, http.StatusBadRequest, "RequestBindingException", "Unable to bind to request 'CustomerQuery'")
		return
	}
	if take <= 0 || take > s.opts.MaxTake {
		take = s.opts.MaxTake
	}
	skip = max(skip, 0)
	search := strings.ToLower(strings.TrimSpace(param(q, "Search")))
	s.mu.Lock()
	var match []customerJSON
	for _, c := range s.customers {
		hay := strings.ToLower(c.Firstname + " " + c.Lastname + " " + c.Email)
		if (search == "" || strings.Contains(hay, search)) && (visible == nil || *visible == c.Visible) &&
			(customerID == "" || strings.EqualFold(c.ID, customerID)) {
			match = append(match, c)
		}
	}
	s.mu.Unlock()
	page := match[min(skip, len(match)):min(skip+take, len(match))]
	writeJSON(w, http.StatusOK, map[string]any{
		"Offset": skip, "Total": len(match), "Results": append([]customerJSON{}, page...),
		"Meta": map[string]string{}, "ResponseStatus": nil,
	})
}

type jobJSON struct {
	ID           string  `json:"Id"`
	CompanyID    string  `json:"CompanyId"`
	Status       int     `json:"Status"`
	StatusName   string  `json:"StatusName"`
	UsersFound   *int    `json:"UsersFound"`
	UsersCreated *int    `json:"UsersCreated"`
	UsersUpdated *int    `json:"UsersUpdated"`
	ErrorMessage *string `json:"ErrorMessage"`
	CreatedDate  string  `json:"CreatedDate"`
	UpdatedDate  string  `json:"UpdatedDate"`
}

var statusNames = []string{"Pending", "Processing", "Completed", "Failed"}

// view renders a job as it stands at now: Pending for one step, Processing
// for the next, then Completed (with counters) or Failed. Caller holds mu.
func (s *Server) view(j *job, now time.Time) jobJSON {
	step := s.opts.SyncStepDuration
	v := jobJSON{ID: j.id, CompanyID: j.company, CreatedDate: s.wireTime(j.created)}
	updated := j.created
	switch el := now.Sub(j.created); {
	case el < step:
	case el < 2*step:
		v.Status, updated = 1, j.created.Add(step)
	default:
		updated = j.created.Add(2 * step)
		if j.failure != "" {
			v.Status, v.ErrorMessage = 3, &j.failure
			break
		}
		found, created := len(s.customers), 0
		updatedN := found - created
		v.Status, v.UsersFound, v.UsersCreated, v.UsersUpdated = 2, &found, &created, &updatedN
	}
	v.StatusName, v.UpdatedDate = statusNames[v.Status], s.wireTime(updated)
	return v
}

func (s *Server) createSync(w http.ResponseWriter, _ *http.Request, company string) {
	now := s.opts.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		if j.company == company && s.view(j, now).Status < 2 {
			writeStatus(w, http.StatusConflict, "Conflict", "A user sync is already running for this company")
			return
		}
	}
	j := &job{id: newGUID(), company: company, created: now, failure: s.failNext}
	s.failNext = ""
	s.jobs = append(s.jobs, j)
	writeJSON(w, http.StatusOK, s.view(j, now))
}

func (s *Server) querySyncs(w http.ResponseWriter, r *http.Request, company string) {
	status := -1
	if v := param(r.URL.Query(), "Status"); v != "" {
		status = statusParam(v)
		if status < 0 {
			writeStatus(w, http.StatusBadRequest, "RequestBindingException", "Unable to bind to request 'QueryAxemaUserSyncJobs'")
			return
		}
	}
	now := s.opts.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []jobJSON{}
	for _, j := range s.jobs {
		if v := s.view(j, now); j.company == company && (status < 0 || v.Status == status) {
			out = append(out, v)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"Results": out, "ResponseStatus": nil})
}

func (s *Server) getSync(w http.ResponseWriter, r *http.Request, company string) {
	id := strings.ToLower(r.PathValue("id"))
	if !guidRE.MatchString(id) {
		writeStatus(w, http.StatusBadRequest, "RequestBindingException", "Unable to bind to request 'GetAxemaUserSyncJob'")
		return
	}
	now := s.opts.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		if j.id == id && j.company == company {
			writeJSON(w, http.StatusOK, s.view(j, now))
			return
		}
	}
	writeStatus(w, http.StatusNotFound, "NotFound", "Axema user sync job not found")
}

// statusParam accepts AxemaUserSyncStatus as 0..3 or its name, as
// ServiceStack binds enums; -1 if neither.
func statusParam(v string) int {
	if n, err := strconv.Atoi(v); err == nil && n >= 0 && n < len(statusNames) {
		return n
	}
	for i, name := range statusNames {
		if strings.EqualFold(v, name) {
			return i
		}
	}
	return -1
}

// readAll reads a bounded request body.
func readAll(r *http.Request) string {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	return string(b)
}

// param reads a query parameter case-insensitively, as ServiceStack binds.
func param(q url.Values, name string) string {
	for k, v := range q {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func intParam(q url.Values, name string) (int, error) {
	v := param(q, name)
	if v == "" {
		return 0, nil
	}
	return strconv.Atoi(v)
}

const zeroGUID = "00000000-0000-0000-0000-000000000000"

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// wireTime is ServiceStack's ISO-8601 DateTime without an offset.
// wireTime renders a DateTime as ServiceStack does: no zone by default, or
// with Options.DateZone.
func (s *Server) wireTime(t time.Time) string {
	const layout = "2006-01-02T15:04:05.9999999"
	switch z := s.opts.DateZone; z {
	case "":
		return t.UTC().Format(layout)
	case "Z":
		return t.UTC().Format(layout) + "Z"
	default:
		if off, err := time.Parse("-07:00", z); err == nil {
			_, secs := off.Zone()
			return t.In(time.FixedZone("", secs)).Format(layout + "-07:00")
		}
		return t.UTC().Format(layout)
	}
}

type responseStatus struct {
	ErrorCode string `json:"ErrorCode"`
	Message   string `json:"Message"`
}

func statusBody(code, message string) []byte {
	b, _ := json.Marshal(map[string]responseStatus{"ResponseStatus": {ErrorCode: code, Message: message}})
	return b
}

// errorBody renders fault statuses the way the ServiceStack host does.
func errorBody(status int) (string, []byte) {
	code := strings.ReplaceAll(http.StatusText(status), " ", "")
	switch status {
	case http.StatusTooManyRequests:
		code = "TooManyRequests"
	case 0:
		code = "Error"
	}
	return "application/json", statusBody(code, http.StatusText(status))
}

func writeStatus(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(statusBody(code, message))
}

func writeUnauthorized(w http.ResponseWriter, message string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="bookmore-admin"`)
	writeStatus(w, http.StatusUnauthorized, "Unauthorized", message)
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
