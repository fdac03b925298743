// Package gdap is the gateway's client for Appxite's GDAP API, an Azure
// Functions app that lists a Microsoft partner's customers, the Entra roles
// GDAP can delegate, and starts a fire-and-forget customer sync.
//
// Wire facts the code relies on (docs/vendors.md, GDAP): PascalCase JSON, list
// items are Azure Table entities (PartitionKey/RowKey/Timestamp/ETag), the
// partner tenant goes in the query as partnerId or providerId depending on
// the endpoint, and a bad or under-privileged token gets 401 with the body
// `null`.
package gdap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream"
)

// Route names, appended to the base URL as one path segment.
const (
	DefaultCustomersRoute = "Customers"
	// FallbackCustomersRoute is the route the contract's C# sample uses; which
	// of the two is real is unresolved, so the client tries both.
	FallbackCustomersRoute = "ListCustomers"
	rolesRoute             = "GetAvailableRoles"
	syncRoute              = "SynchronizePartnerCustomers"
)

// maxMessage bounds vendor text copied into errors.
const maxMessage = 512

// ErrInvalidEmail is returned before any call when the sync e-mail is not a
// single plain address; the vendor mails the sync result there.
var ErrInvalidEmail = errors.New("gdap: email must be a single plain e-mail address")

// Config describes one GDAP API installation and the gateway's credentials.
type Config struct {
	BaseURL   string // e.g. https://dev-gdap.azurewebsites.net/api/ (must end with /)
	PartnerID string // Microsoft partner tenant GUID; sent as partnerId / providerId
	// Either a static bearer token ...
	Token string
	// ... or Entra ID client credentials (form POST grant_type=client_credentials,
	// client_id, client_secret, scope; answer {access_token, expires_in, token_type}).
	TokenURL, ClientID, ClientSecret, Scope string
	// CustomersRoute is "Customers" by default; on 404 the client falls back to
	// "ListCustomers" (the contract's unresolved route) and remembers what worked.
	CustomersRoute string
}

// Client calls the GDAP API. It is safe for concurrent use.
type Client struct {
	up       *upstream.Client
	base     *url.URL
	partner  string // lower-case partner tenant GUID
	static   string // static bearer token, if configured
	tokenURL string
	form     url.Values // client-credentials grant
	now      func() time.Time
	tokens   *upstream.TokenSource // nil with a static token
	slow     time.Duration         // per-call timeout of the slow onboarding calls (onboarding.go)

	mu    sync.Mutex // guards route
	route string     // customers route known (or assumed) to work
}

// New validates cfg and returns a client; it reports every problem at once.
func New(up *upstream.Client, cfg Config) (*Client, error) {
	var errs []error
	if up == nil {
		errs = append(errs, errors.New("upstream client is required"))
	}
	base, err := upstream.BaseURL("BaseURL", cfg.BaseURL)
	if err != nil {
		errs = append(errs, err)
	}
	partner := strings.ToLower(strings.TrimSpace(cfg.PartnerID))
	if !upstream.IsGUID(partner) {
		errs = append(errs, errors.New("PartnerID must be the partner tenant GUID"))
	}
	creds := cfg.TokenURL != "" || cfg.ClientID != "" || cfg.ClientSecret != "" || cfg.Scope != ""
	switch {
	case cfg.Token != "" && creds:
		errs = append(errs, errors.New("set either Token or client credentials, not both"))
	case cfg.Token == "" && !creds:
		errs = append(errs, errors.New("a token or client credentials (TokenURL, ClientID, ClientSecret, Scope) are required"))
	case creds:
		if _, err := upstream.HTTPURL("TokenURL", cfg.TokenURL); err != nil {
			errs = append(errs, err)
		}
		for _, f := range []struct{ name, v string }{{"ClientID", cfg.ClientID}, {"ClientSecret", cfg.ClientSecret}, {"Scope", cfg.Scope}} {
			if strings.TrimSpace(f.v) == "" {
				errs = append(errs, fmt.Errorf("%s is required with client credentials", f.name))
			}
		}
	}
	route := cfg.CustomersRoute
	if route == "" {
		route = DefaultCustomersRoute
	}
	if strings.ContainsAny(route, "/?#") || route == "." || route == ".." {
		errs = append(errs, errors.New("CustomersRoute must be a single path segment"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("gdap config: %w", err)
	}
	c := &Client{
		up: up, base: base, partner: partner, static: cfg.Token, tokenURL: cfg.TokenURL,
		now: time.Now, route: route,
	}
	if creds {
		c.form = url.Values{
			"grant_type":    {"client_credentials"},
			"client_id":     {cfg.ClientID},
			"client_secret": {cfg.ClientSecret},
			"scope":         {cfg.Scope},
		}
		c.tokens = &upstream.TokenSource{Vendor: model.VendorGDAP, Login: c.fetchToken, MaxMargin: 5 * time.Minute,
			Now: func() time.Time { return c.now() }}
	}
	return c, nil
}

// ListCustomers returns the partner's synced customers (GET Customers, or
// ListCustomers when the deployment only knows that route). The list is
// unpaged and may be partial while a sync runs.
func (c *Client) ListCustomers(ctx context.Context) ([]model.GDAPCustomer, error) {
	c.mu.Lock()
	route := c.route
	c.mu.Unlock()
	out, err := c.listCustomers(ctx, route)
	if isStatus(err, http.StatusNotFound) {
		alt := FallbackCustomersRoute
		if route == FallbackCustomersRoute {
			alt = DefaultCustomersRoute
		}
		if out, err = c.listCustomers(ctx, alt); err == nil {
			c.mu.Lock()
			c.route = alt
			c.mu.Unlock()
		}
	}
	return out, err
}

func (c *Client) listCustomers(ctx context.Context, route string) ([]model.GDAPCustomer, error) {
	var out []model.GDAPCustomer
	err := c.call(ctx, "list_customers", http.MethodGet, route, "providerId="+url.QueryEscape(c.partner),
		func(r io.Reader) (err error) {
			out, err = decodeCustomers(r)
			return err
		})
	return out, err
}

// AvailableRoles lists the Entra built-in roles GDAP templates may use.
func (c *Client) AvailableRoles(ctx context.Context) ([]model.Role, error) {
	var out []model.Role
	err := c.call(ctx, "available_roles", http.MethodGet, rolesRoute, "partnerId="+url.QueryEscape(c.partner),
		func(r io.Reader) (err error) {
			out, err = decodeRoles(r)
			return err
		})
	return out, err
}

// SynchronizePartnerCustomers asks the vendor to re-read the partner's
// customers from Partner Center. It is fire-and-forget: the vendor returns
// no job id and mails the outcome to email. The call is never retried.
func (c *Client) SynchronizePartnerCustomers(ctx context.Context, email string) (message string, err error) {
	email = strings.TrimSpace(email)
	if !ValidEmail(email) {
		return "", ErrInvalidEmail
	}
	// Query order as in the vendor's example: partnerId, then email.
	q := "partnerId=" + url.QueryEscape(c.partner) + "&email=" + url.QueryEscape(email)
	err = c.call(ctx, "sync_customers", http.MethodPost, syncRoute, q, func(r io.Reader) (err error) {
		message, err = decodeAccepted(r)
		return err
	})
	return message, err
}

// ValidEmail reports whether s is one bare address (no display name), the
// form the vendor expects for the sync result mail.
func ValidEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// call sends one authenticated API request; decode reads a 2xx body. With
// client credentials, a 401 is retried once with a fresh token.
func (c *Client) call(ctx context.Context, op, method, route, query string, decode func(io.Reader) error) error {
	return c.request(ctx, op, method, route, query, nil, 0, decode)
}

// request sends one authorized call with an optional JSON body and a
// per-call timeout (0: the vendor's).
func (c *Client) request(ctx context.Context, op, method, route, query string, body []byte, timeout time.Duration, decode func(io.Reader) error) error {
	u := c.base.ResolveReference(&url.URL{Path: route, RawQuery: query})
	return c.tokens.Authorized(ctx, func(tok string) error {
		if c.static != "" {
			tok = c.static
		}
		req, err := upstream.NewRequest(model.VendorGDAP, op, method, u.String(), body)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		// Only reads may be retried; a repeated sync would mail the partner twice.
		return c.up.Do(ctx, upstream.Call{Op: op, Request: req, Idempotent: method == http.MethodGet, Timeout: timeout,
			Handle: func(resp *http.Response) error {
				if resp.StatusCode/100 == 2 {
					return decode(resp.Body)
				}
				return statusError(resp)
			}})
	})
}

// statusError maps a non-2xx API answer. The vendor documents only 401/null;
// Azure Functions answers other failures with an empty body or a short
// JSON string, which becomes Message.
func statusError(resp *http.Response) *upstream.Error {
	e := &upstream.Error{Status: resp.StatusCode, Message: bodyMessage(upstream.ReadErrorBody(resp.Body))}
	switch s := resp.StatusCode; {
	case s == http.StatusUnauthorized, s == http.StatusForbidden:
		e.Err = upstream.ErrCredentials
	case s == http.StatusBadRequest:
		e.Err = upstream.ErrRejected
	case s == http.StatusConflict:
		e.Err = upstream.ErrConflict
	case s == http.StatusTooManyRequests, s >= 500:
		e.RetryAfter = upstream.RetryAfter(resp.Header, time.Now())
	}
	// Anything else (a 404 after the route fallback, say) is a deployment
	// mismatch, not the caller's not-found, so it carries no sentinel.
	return e
}

// bodyMessage turns an error body into caller-safe text: `null` and empty
// bodies say nothing, a JSON string is unquoted, anything else is clipped.
func bodyMessage(b []byte) string {
	var s string
	if json.Unmarshal(b, &s) != nil {
		s = string(b)
	}
	if s = strings.TrimSpace(s); s == "null" {
		return ""
	}
	return clip(s)
}

func clip(s string) string { return upstream.Truncate(s, maxMessage) }

type tokenAnswer struct {
	AccessToken string          `json:"access_token"`
	TokenType   string          `json:"token_type"`
	ExpiresIn   json.RawMessage `json:"expires_in"` // a number (v2) or a string (v1 endpoint)
}

type tokenFailure struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func (c *Client) fetchToken(ctx context.Context) (g upstream.Grant, err error) {
	req, err := upstream.FormRequest(model.VendorGDAP, c.tokenURL, c.form)
	if err != nil {
		return g, err
	}
	// A client-credentials grant changes nothing at the vendor; retry it.
	err = c.up.Do(ctx, upstream.Call{Op: "token", Request: req, Idempotent: true, Handle: func(resp *http.Response) error {
		if resp.StatusCode/100 != 2 {
			return tokenError(resp)
		}
		var a tokenAnswer
		if err := upstream.DecodeJSON(resp.Body, &a); err != nil {
			return err
		}
		if a.AccessToken == "" || (a.TokenType != "" && !strings.EqualFold(a.TokenType, "Bearer")) {
			return &upstream.Error{Status: resp.StatusCode, Err: fmt.Errorf("%w: no bearer access_token", upstream.ErrMalformed)}
		}
		secs, err := strconv.Atoi(strings.Trim(string(a.ExpiresIn), `"`))
		if err != nil || secs < 0 {
			secs = 0 // unknown lifetime: use the token once, never cache it
		}
		g = upstream.Grant{Access: a.AccessToken, TTL: time.Duration(secs) * time.Second}
		return nil
	}})
	return g, err
}

// tokenError maps an Entra token-endpoint failure. 4xx there means the
// gateway's client id, secret or scope is wrong: its own configuration.
func tokenError(resp *http.Response) *upstream.Error {
	body := upstream.ReadErrorBody(resp.Body)
	e := &upstream.Error{Status: resp.StatusCode}
	var f tokenFailure
	if json.Unmarshal(body, &f) == nil && f.Error != "" {
		// Entra appends trace and correlation ids on later lines.
		first, _, _ := strings.Cut(f.Description, "\n")
		e.Code, e.Message = f.Error, clip(strings.TrimSpace(first))
	} else {
		e.Message = bodyMessage(body)
	}
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests, s >= 500:
		e.RetryAfter = upstream.RetryAfter(resp.Header, time.Now())
	case s >= 400:
		e.Err = upstream.ErrCredentials
	}
	return e
}

// Wire DTOs. Azure Table bookkeeping (Timestamp, ETag) is ignored.

type customerEntity struct {
	PartitionKey   string // partner tenant id
	RowKey         string // customer's Microsoft tenant id
	TenantDomain   string
	CompanyName    string
	PrimaryContact string // e-mail
	FirstName      string
	LastName       string
}

type roleEntity struct {
	RowKey      string // Entra built-in role template id
	Name        string
	Description string
}

type envelope struct {
	Result  string
	Message json.RawMessage // a string on most endpoints, an array of strings on some
}

func decodeCustomers(r io.Reader) ([]model.GDAPCustomer, error) {
	var doc struct{ CurrentEntitiesSynced *[]customerEntity }
	if err := upstream.DecodeJSON(r, &doc); err != nil {
		return nil, err
	}
	if doc.CurrentEntitiesSynced == nil {
		return nil, fmt.Errorf("%w: no CurrentEntitiesSynced array", upstream.ErrMalformed)
	}
	out := make([]model.GDAPCustomer, 0, len(*doc.CurrentEntitiesSynced))
	for i, e := range *doc.CurrentEntitiesSynced {
		// Table Storage always sets RowKey, the customer's tenant id: an
		// entity without one is not understood, and dropping it would
		// make the list look complete.
		if strings.TrimSpace(e.RowKey) == "" {
			return nil, fmt.Errorf("%w: customer entity %d has no RowKey", upstream.ErrMalformed, i)
		}
		out = append(out, e.customer())
	}
	return out, nil
}

func (e customerEntity) customer() model.GDAPCustomer {
	g := model.GDAPCustomer{
		MicrosoftTenantID: lowerTrim(e.RowKey),
		PartnerTenantID:   lowerTrim(e.PartitionKey),
		CompanyName:       strings.TrimSpace(e.CompanyName),
		Domain:            lowerTrim(e.TenantDomain),
	}
	// Contacts fill in gradually while a sync runs; an empty one is no contact.
	ct := model.Contact{
		FirstName: strings.TrimSpace(e.FirstName),
		LastName:  strings.TrimSpace(e.LastName),
		Email:     strings.TrimSpace(e.PrimaryContact),
	}
	if ct != (model.Contact{}) {
		g.PrimaryContact = &ct
	}
	return g
}

func decodeRoles(r io.Reader) ([]model.Role, error) {
	var doc struct{ AvailableRoles *[]roleEntity }
	if err := upstream.DecodeJSON(r, &doc); err != nil {
		return nil, err
	}
	if doc.AvailableRoles == nil {
		return nil, fmt.Errorf("%w: no AvailableRoles array", upstream.ErrMalformed)
	}
	out := make([]model.Role, 0, len(*doc.AvailableRoles))
	for i, e := range *doc.AvailableRoles {
		if strings.TrimSpace(e.RowKey) == "" {
			return nil, fmt.Errorf("%w: role entity %d has no RowKey", upstream.ErrMalformed, i)
		}
		out = append(out, model.Role{ID: lowerTrim(e.RowKey), Name: strings.TrimSpace(e.Name), Description: strings.TrimSpace(e.Description)})
	}
	return out, nil
}

// decodeAccepted reads a {Result, Message} envelope; any Result other than
// Accepted is the vendor refusing, with Result as the code.
func decodeAccepted(r io.Reader) (string, error) {
	var env envelope
	if err := upstream.DecodeJSON(r, &env); err != nil {
		return "", err
	}
	if env.Result == "" {
		return "", fmt.Errorf("%w: no Result in envelope", upstream.ErrMalformed)
	}
	msg := envelopeMessage(env.Message)
	if !strings.EqualFold(env.Result, "Accepted") {
		return "", &upstream.Error{Status: http.StatusOK, Code: clip(env.Result), Message: clip(msg), Err: upstream.ErrRejected}
	}
	return msg, nil
}

// envelopeMessage accepts Message as a string or an array of strings
// (joined with "; "); any other JSON is kept as its raw text.
func envelopeMessage(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return strings.Join(list, "; ")
	}
	if t := strings.TrimSpace(string(raw)); t != "null" {
		return t
	}
	return ""
}

func isStatus(err error, status int) bool {
	var e *upstream.Error
	return errors.As(err, &e) && e.Status == status
}

func lowerTrim(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
