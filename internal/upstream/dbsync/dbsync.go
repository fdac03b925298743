// Package dbsync is the client of the DBSync Partner API v2 licence manager
// (docs/vendors.md, DBSync).
//
// Every method is POST {base}{method} with a JSON body carrying the static
// partner credentials; there is no token and no auth header. The vendor
// answers HTTP 200 even for failures, which arrive as a non-empty
// value[].errorMessage; this package turns those into typed *upstream.Error
// values. Business calls are never retried: registerUser consumes quota.
package dbsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream"
)

// Config is one partner application's access to the licence manager.
type Config struct {
	// BaseURL is the v2 partner root ending in /, e.g.
	// http://staging.mydbsync.com/appcenter-2-2/appcode/v2/partner/
	BaseURL  string
	AppKey   string // partnerAppKey, sent in every JSON body
	AppToken string // partnerAppToken, sent in every JSON body
}

// Client calls the licence manager. It is safe for concurrent use.
type Client struct {
	up   *upstream.Client
	base *url.URL
	cfg  Config
	now  func() time.Time // expiry checks; tests replace it
}

// Quota is the partner app's licence usage as licenseDetails reports it:
// the annual quota of licensed users, seats consumed this year
// (unregistering does not return one) and currently registered users.
type Quota = model.LicenseQuota

// Details is the answer of licenseDetails.
type Details struct {
	Users []model.License
	Quota *Quota // nil when the vendor does not send it
}

// New validates cfg and returns a client.
func New(up *upstream.Client, cfg Config) (*Client, error) {
	var errs []error
	if up == nil {
		errs = append(errs, errors.New("upstream client is required"))
	}
	base, err := upstream.BaseURL("base URL", cfg.BaseURL)
	if err != nil {
		errs = append(errs, err)
	}
	if cfg.AppKey == "" {
		errs = append(errs, errors.New("partner app key is required"))
	}
	if cfg.AppToken == "" {
		errs = append(errs, errors.New("partner app token is required"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("dbsync config: %w", errors.Join(errs...))
	}
	return &Client{up: up, base: base, cfg: cfg, now: time.Now}, nil
}

// RegisterUser registers a user, consuming one seat of the annual quota.
func (c *Client) RegisterUser(ctx context.Context, company, user string) (model.License, error) {
	r, err := c.one(ctx, "register_user", "registerUser", company, user)
	if err != nil {
		return model.License{}, err
	}
	return r.license(company, user), nil
}

// UnregisterUser frees an active seat (the annual quota stays consumed).
func (c *Client) UnregisterUser(ctx context.Context, company, user string) (model.License, error) {
	r, err := c.one(ctx, "unregister_user", "unregisterUser", company, user)
	if err != nil {
		return model.License{}, err
	}
	return r.license(company, user), nil
}

// AuthenticateUser asks whether a registered user may run the integration.
// A known user without a valid licence (a false validity flag, an expiry
// date in the past, or an errorMessage saying the licence expired) is
// Licensed=false with a Reason, not an error.
func (c *Client) AuthenticateUser(ctx context.Context, company, user string) (model.LicenseCheck, error) {
	r, err := c.one(ctx, "authenticate_user", "authenticateUser", company, user)
	var e *upstream.Error
	if errors.As(err, &e) && e.Code == codeExpired {
		return model.LicenseCheck{Company: company, User: user, Reason: e.Message}, nil
	}
	if err != nil {
		return model.LicenseCheck{}, err
	}
	l := r.license(company, user)
	chk := model.LicenseCheck{ID: l.UserID, Company: l.Company, User: l.User, UserID: l.UserID, Licensed: true}
	switch valid, known := r.valid(); {
	case !r.Expiry.IsZero() && !r.Expiry.After(c.now()):
		chk.Licensed, chk.Reason = false, "the licence expired on "+r.Expiry.UTC().Format(time.RFC3339)
	case known && !valid:
		chk.Licensed, chk.Reason = false, "the licence manager reports no valid licence for this user"
	}
	return chk, nil
}

// Manager adapts the client to the gateway's licence operations.
type Manager struct{ C *Client }

// Register registers a user (RegisterUser). A user the manager already
// has is model.ErrAlreadyRegistered; a full quota is a
// *model.QuotaExhaustedError carrying the usage licenseDetails reports
// (one more read-only call, only on that failure; nil if it fails too).
// Both wrap the vendor's *upstream.Error.
func (m Manager) Register(ctx context.Context, company, user string) (model.License, error) {
	l, err := m.C.RegisterUser(ctx, company, user)
	var ue *upstream.Error
	if !errors.As(err, &ue) {
		return l, err
	}
	switch ue.Code {
	case codeAlreadyRegistered:
		return l, fmt.Errorf("%w: %w", model.ErrAlreadyRegistered, err)
	case codeQuotaExhausted:
		qe := &model.QuotaExhaustedError{Err: err}
		if d, derr := m.C.LicenseDetails(ctx, company); derr == nil {
			qe.Quota = d.Quota
		}
		return l, qe
	}
	return l, err
}

// Unregister frees a user's seat (UnregisterUser).
func (m Manager) Unregister(ctx context.Context, company, user string) (model.License, error) {
	return m.C.UnregisterUser(ctx, company, user)
}

// Check is AuthenticateUser.
func (m Manager) Check(ctx context.Context, company, user string) (model.LicenseCheck, error) {
	return m.C.AuthenticateUser(ctx, company, user)
}

// List is LicenseDetails as users and quota.
func (m Manager) List(ctx context.Context, company string) ([]model.License, *model.LicenseQuota, error) {
	d, err := m.C.LicenseDetails(ctx, company)
	return d.Users, d.Quota, err
}

// LicenseDetails lists licensed users, of one company when company != "".
// It also returns the partner app's quota summary.
func (c *Client) LicenseDetails(ctx context.Context, company string) (Details, error) {
	env, err := c.call(ctx, "license_details", "licenseDetails", company, "")
	if err != nil {
		return Details{}, err
	}
	// An empty value[] is a legitimate "no licensed users" here.
	d := Details{Users: make([]model.License, 0, len(env.Value))}
	for _, r := range env.Value {
		d.Users = append(d.Users, r.license(company, ""))
	}
	d.Quota = env.quota
	return d, nil
}

// Wire DTOs. The documented names are camelCase; other versions may
// differ in case and, for the undocumented quota and validity fields, in
// name, so those are read from a list of candidates (docs/vendors.md).
type request struct {
	PartnerAppKey   string `json:"partnerAppKey"`
	PartnerAppToken string `json:"partnerAppToken"`
	EndUserCompany  string `json:"endUserCompany"`
	EndUserName     string `json:"endUserName"`
}

type envelope struct {
	Value []result
	quota *Quota
}

// Candidate names of undocumented fields, compared ignoring case.
var (
	quotaObjects = []string{"licenseQuota", "quota", "licenseDetails", "license"}
	quotaAnnual  = []string{"annualQuota", "licensedUsers", "maxUsers", "totalLicenses", "quota"}
	quotaUsed    = []string{"used", "usedLicenses", "consumed", "usedQuota"}
	quotaActive  = []string{"active", "activeUsers", "currentActive", "activeCount"}
	validFlags   = []string{"isValid", "validLicense", "authenticated", "valid", "licensed", "isLicensed"}
	expiryFields = []string{"expiryDate", "licenseExpiry", "validUntil", "expiresOn", "expirationDate"}
)

// fields is a JSON object keyed by lower-case name.
type fields map[string]json.RawMessage

func (f *fields) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*f = make(fields, len(m))
	for k, v := range m {
		(*f)[strings.ToLower(k)] = v
	}
	return nil
}

// pick returns the first candidate present and not null.
func (f fields) pick(names []string) (json.RawMessage, bool) {
	for _, n := range names {
		if v, ok := f[strings.ToLower(n)]; ok && string(v) != "null" {
			return v, true
		}
	}
	return nil, false
}

func (e *envelope) UnmarshalJSON(b []byte) error {
	var f fields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	if v, ok := f.pick([]string{"value"}); ok {
		if err := json.Unmarshal(v, &e.Value); err != nil {
			return fmt.Errorf("value: %w", err)
		}
		if e.Value == nil {
			e.Value = []result{}
		}
	}
	raw, ok := f.pick(quotaObjects)
	if !ok {
		return nil
	}
	var q fields
	if err := json.Unmarshal(raw, &q); err != nil {
		return nil // a quota of some other shape is not ours to read
	}
	var out Quota
	found := 0
	for _, c := range []struct {
		names []string
		dst   *int
	}{{quotaAnnual, &out.AnnualQuota}, {quotaUsed, &out.Used}, {quotaActive, &out.Active}} {
		if v, ok := q.pick(c.names); ok {
			if err := json.Unmarshal(v, c.dst); err != nil {
				return fmt.Errorf("quota: %w", err)
			}
			found++
		}
	}
	// A quota whose numbers are all unknown names is no quota: reporting
	// zeros would invent a full or empty quota.
	if found == 3 {
		e.quota = &out
	}
	return nil
}

type result struct {
	CompanyID    idString
	UserID       idString
	UserName     string
	CompanyName  string
	ErrorMessage []string
	// The validity flag's and expiry's names are undocumented.
	Valid  *bool
	Expiry time.Time
}

func (r *result) UnmarshalJSON(b []byte) error {
	var f fields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	for _, c := range []struct {
		name string
		dst  any
	}{{"companyId", &r.CompanyID}, {"userId", &r.UserID}, {"userName", &r.UserName}, {"companyName", &r.CompanyName}} {
		if v, ok := f.pick([]string{c.name}); ok {
			if err := json.Unmarshal(v, c.dst); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
		}
	}
	// errorMessage is documented as an array of strings; a single string
	// is read as one message rather than failing the whole answer.
	if v, ok := f.pick([]string{"errorMessage"}); ok {
		if err := json.Unmarshal(v, &r.ErrorMessage); err != nil {
			var one string
			if json.Unmarshal(v, &one) != nil {
				return fmt.Errorf("errorMessage: %w", err)
			}
			if one = strings.TrimSpace(one); one != "" {
				r.ErrorMessage = []string{one}
			}
		}
	}
	if v, ok := f.pick(validFlags); ok {
		var ok bool
		if err := json.Unmarshal(v, &ok); err != nil {
			return fmt.Errorf("validity flag: %w", err)
		}
		r.Valid = &ok
	}
	if v, ok := f.pick(expiryFields); ok {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("expiry: %w", err)
		}
		t, err := upstream.ParseTime(s)
		if err != nil {
			return fmt.Errorf("expiry: %w", err)
		}
		r.Expiry = t
	}
	return nil
}

// idString accepts the documented numeric string ("9877") and a bare JSON
// number, in case a version stops quoting ids.
type idString string

func (s *idString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var v string
		err := json.Unmarshal(b, &v)
		*s = idString(v)
		return err
	}
	if string(b) == "null" {
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*s = idString(n)
	return nil
}

// license maps a result; the response has no company name in the
// documented shape, so the request's company (and user) fill the gaps.
func (r result) license(company, user string) model.License {
	l := model.License{ID: string(r.UserID), Company: r.CompanyName, User: r.UserName, CompanyID: string(r.CompanyID), UserID: string(r.UserID)}
	if l.Company == "" {
		l.Company = company
	}
	if l.User == "" {
		l.User = user
	}
	return l
}

// valid reads the validity flag, if the vendor sent one; with none, an
// empty errorMessage is itself the success signal.
func (r result) valid() (valid, known bool) {
	if r.Valid == nil {
		return true, false
	}
	return *r.Valid, true
}

// one runs a single-user method, whose answer must hold one result.
func (c *Client) one(ctx context.Context, op, method, company, user string) (result, error) {
	env, err := c.call(ctx, op, method, company, user)
	if err != nil {
		return result{}, err
	}
	if len(env.Value) == 0 {
		return result{}, &upstream.Error{Vendor: model.VendorDBSync, Op: op, Status: http.StatusOK,
			Err: fmt.Errorf("%w: empty value array", upstream.ErrMalformed)}
	}
	return env.Value[0], nil
}

// call POSTs one method and decodes the envelope, turning transport
// statuses and errorMessage[] into *upstream.Error.
func (c *Client) call(ctx context.Context, op, method, company, user string) (envelope, error) {
	payload, err := json.Marshal(request{
		PartnerAppKey: c.cfg.AppKey, PartnerAppToken: c.cfg.AppToken,
		EndUserCompany: company, EndUserName: user,
	})
	if err != nil {
		return envelope{}, err
	}
	u := c.base.ResolveReference(&url.URL{Path: method})
	req, err := upstream.NewRequest(model.VendorDBSync, op, http.MethodPost, u.String(), payload)
	if err != nil {
		return envelope{}, err
	}

	// Every method is a POST, but authenticateUser and licenseDetails only
	// read; register/unregister consume or free seats and are sent once.
	readOnly := method == "authenticateUser" || method == "licenseDetails"
	var env envelope
	err = c.up.Do(ctx, upstream.Call{Op: op, Request: req, Idempotent: readOnly, Handle: func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			return transportError(resp)
		}
		if err := upstream.DecodeJSON(resp.Body, &env); err != nil {
			return &upstream.Error{Status: resp.StatusCode, Err: err}
		}
		if env.Value == nil {
			return &upstream.Error{Status: resp.StatusCode, Err: fmt.Errorf("%w: no value array", upstream.ErrMalformed)}
		}
		var msgs []string
		for _, r := range env.Value {
			msgs = append(msgs, r.ErrorMessage...)
		}
		if len(msgs) > 0 {
			return c.vendorError(msgs, company, user)
		}
		return nil
	}})
	return env, err
}

// transportError describes a non-200 answer: these come from the servlet
// container or a proxy (HTML or plain text), never from the API itself.
func transportError(resp *http.Response) error {
	e := &upstream.Error{Status: resp.StatusCode, Code: fmt.Sprintf("http_%d", resp.StatusCode)}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		// Every documented method exists, so 404 means a wrong env/version.
		e.Message = "endpoint not found; check base URL"
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		// No API credential travels in headers; a gate in front refused us.
		e.Err = upstream.ErrCredentials
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		e.RetryAfter = upstream.RetryAfter(resp.Header, time.Now())
	}
	if e.Message == "" {
		e.Message = pageSummary(upstream.ReadErrorBody(resp.Body))
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// pageSummary extracts a short readable line from an HTML or text error
// page: the <title>, else the first non-empty line.
func pageSummary(b []byte) string {
	s := string(b)
	lower := strings.ToLower(s)
	if i := strings.Index(lower, "<title>"); i >= 0 {
		if j := strings.Index(lower[i:], "</title>"); j >= 0 {
			return truncate(html.UnescapeString(strings.TrimSpace(s[i+len("<title>"):i+j])), 200)
		}
	}
	if strings.Contains(lower, "<html") {
		return ""
	}
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			return truncate(line, 200)
		}
	}
	return ""
}

// errorRules classify errorMessage[] texts. DBSync does not document its
// texts, so rules match lower-case key phrases; the examples are what
// dbsyncsim writes. Order matters: the first rule matching any message
// wins, so a credential problem outranks everything else.
//
//	code                 sentinel        dbsyncsim text (example)
//	invalid_credentials  ErrCredentials  "Invalid partnerAppKey or partnerAppToken", "partnerAppKey is required",
//	                                     "Invalid partner application key or token"
//	licence_expired      ErrRejected     "License expired for user <name>" (a verdict for authenticateUser)
//	already_registered   ErrConflict     "User already registered: <name>"
//	quota_exhausted      ErrRejected     "Annual licensed user quota exhausted (25 of 25 used)"
//	user_not_found       ErrNotFound     "User not found: <name>", "User is not registered: <name>"
//	missing_field        ErrRejected     "endUserName is required"
//	rejected             ErrRejected     anything else
//
// codeExpired marks an errorMessage saying the user's licence has expired.
const codeExpired = "licence_expired"

// Codes of errorMessage[] texts that Manager.Register reports as their own
// errors.
const (
	codeAlreadyRegistered = "already_registered"
	codeQuotaExhausted    = "quota_exhausted"
)

var errorRules = []struct {
	code    string
	kind    error
	phrases []string
}{
	{"invalid_credentials", upstream.ErrCredentials, []string{"partnerappkey", "partnerapptoken", "partner key", "partner token", "app key", "app token", "appkey", "apptoken", "invalid key", "invalid token",
		"application key", "application token", "key or token", "partner application"}},
	{codeExpired, upstream.ErrRejected, []string{"expired", "no valid licen", "licence is not valid", "license is not valid"}},
	{codeAlreadyRegistered, upstream.ErrConflict, []string{"already registered", "already exist", "duplicate"}},
	{codeQuotaExhausted, upstream.ErrRejected, []string{"quota", "limit reached", "limit exceeded", "no licenses available", "no seats"}},
	{"user_not_found", upstream.ErrNotFound, []string{"not found", "not registered", "unknown user", "does not exist", "doesn't exist", "no such user"}},
	{"missing_field", upstream.ErrRejected, []string{"required", "missing"}},
}

// vendorError turns a non-empty errorMessage[] into a typed error. The
// request's names are blanked before matching so that a user called
// "quota@example.com" cannot steer the classification.
func (c *Client) vendorError(msgs []string, company, user string) *upstream.Error {
	code, kind := "rejected", upstream.ErrRejected
rules:
	for _, r := range errorRules {
		for _, m := range msgs {
			for _, name := range []string{user, company} {
				m = blankWord(m, name)
			}
			m = strings.ToLower(m)
			for _, p := range r.phrases {
				if strings.Contains(m, p) {
					code, kind = r.code, r.kind
					break rules
				}
			}
		}
	}
	msg := strings.Join(msgs, "; ")
	// A vendor echoing our request must not leak the credentials.
	for _, secret := range []string{c.cfg.AppKey, c.cfg.AppToken} {
		msg = strings.ReplaceAll(msg, secret, "[redacted]")
	}
	return &upstream.Error{Status: http.StatusOK, Code: code, Message: truncate(msg, 500), Err: kind}
}

func truncate(s string, n int) string { return upstream.Truncate(s, n) }

// blankWord removes name from s where it stands as a word of its own, so a
// short name such as "A" cannot cut letters out of the vendor's own words.
func blankWord(s, name string) string {
	if name == "" {
		return s
	}
	isWordByte := func(b byte) bool {
		return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_'
	}
	var b strings.Builder
	for {
		i := strings.Index(s, name)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(name)
		whole := (i == 0 || !isWordByte(s[i-1])) && (end == len(s) || !isWordByte(s[end]))
		b.WriteString(s[:i])
		if !whole {
			b.WriteString(name)
		}
		s = s[end:]
	}
}
