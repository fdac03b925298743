// Package crayon is the gateway's client for the Crayon Cloud-iQ "Customer
// API": customer tenants and their Microsoft agreement consents.
//
// Crayon issues bearer tokens through a resource-owner password grant with
// no refresh token, so the client logs in again shortly before a token
// expires. JSON is PascalCase and enums are ints; both are mapped here into
// the vendor-neutral model types.
package crayon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream"
)

// Paging defaults. Crayon's SDK pages 50 at a time; a full listing uses
// bigger pages to save round trips but stays well under the server's
// (undocumented, about 500) maximum.
const (
	DefaultPageSize = 50
	AllPageSize     = 100
	// maxPages stops AllTenants if the vendor's TotalHits never lets paging end.
	maxPages = 1000
	// pageParallel bounds the pages of one listing read at once.
	pageParallel = 4
)

// Config is how the gateway reaches Crayon.
type Config struct {
	// BaseURL is the API root, e.g. https://api.crayon.com/ (must end
	// with "/"); routes live under api/v1/.
	BaseURL string
	// ClientID and ClientSecret authenticate the API client (Basic auth on
	// the token endpoint).
	ClientID, ClientSecret string
	// Username and Password are the API user's (password grant, scope CustomerApi).
	Username, Password string
	// OrganizationID is the reseller organization whose tenants are listed
	// when a filter names none; Crayon needs one in practice.
	OrganizationID int
}

// Client calls Crayon. It is safe for concurrent use.
type Client struct {
	up     *upstream.Client
	base   *url.URL
	cfg    Config
	now    func() time.Time // replaced in tests to move past token expiry
	tokens *upstream.TokenSource
}

// New validates cfg and returns a client that sends every call through up.
func New(up *upstream.Client, cfg Config) (*Client, error) {
	var errs []error
	if up == nil {
		errs = append(errs, errors.New("upstream client is required"))
	}
	base, err := upstream.BaseURL("base URL", cfg.BaseURL)
	if err != nil {
		errs = append(errs, err)
	}
	for name, v := range map[string]string{"client id": cfg.ClientID, "client secret": cfg.ClientSecret, "username": cfg.Username, "password": cfg.Password} {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
	}
	if cfg.OrganizationID <= 0 {
		errs = append(errs, errors.New("organization id must be positive"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("crayon config: %w", err)
	}
	c := &Client{up: up, base: base, cfg: cfg, now: time.Now}
	// No refresh token: log in again within 10 % of the lifetime, at most
	// 5 minutes early.
	c.tokens = &upstream.TokenSource{Vendor: model.VendorCrayon, Login: c.login, MaxMargin: 5 * time.Minute,
		Now: func() time.Time { return c.now() }}
	return c, nil
}

// TenantFilter narrows a tenant listing. Zero values are omitted.
type TenantFilter struct {
	// OrganizationID 0 means Config.OrganizationID.
	OrganizationID, PublisherID, CustomerTenantType int
	// Type is the normalized tenant type (model.TenantTypeT1 / T2); it
	// sets CustomerTenantType when that is 0.
	Type                 string
	Domain, DomainPrefix string
	// Search matches the tenant's name or reference (substring).
	Search string
	// Page is 1-based (0 means 1); PageSize 0 means DefaultPageSize.
	Page, PageSize int
}

// orgQuery starts a listing's query with its organization: org, or the
// configured one when org is 0 (Crayon needs one in practice).
func (c *Client) orgQuery(org int) url.Values {
	if org == 0 {
		org = c.cfg.OrganizationID
	}
	return url.Values{"OrganizationId": {strconv.Itoa(org)}}
}

func (c *Client) tenantQuery(f TenantFilter) url.Values {
	q := c.orgQuery(f.OrganizationID)
	typ := f.CustomerTenantType
	if typ == 0 {
		typ = tenantTypes[f.Type]
	}
	for name, v := range map[string]int{"PublisherId": f.PublisherID, "CustomerTenantType": typ} {
		if v != 0 {
			q.Set(name, strconv.Itoa(v))
		}
	}
	for name, v := range map[string]string{"Domain": f.Domain, "DomainPrefix": f.DomainPrefix, "Search": f.Search} {
		if v != "" {
			q.Set(name, v)
		}
	}
	setPage(q, f.Page, f.PageSize)
	return q
}

// setPage sets Crayon's 1-based Page (0 means 1) and PageSize (0 means
// DefaultPageSize).
func setPage(q url.Values, page, size int) {
	if size <= 0 {
		size = DefaultPageSize
	}
	q.Set("Page", strconv.Itoa(max(page, 1)))
	q.Set("PageSize", strconv.Itoa(size))
}

// listPage reads one page of a Crayon collection and maps its items.
func listPage[D, M any](ctx context.Context, c *Client, op, path string, q url.Values, toModel func(D) M) ([]M, int64, error) {
	var col collection[D]
	if err := c.call(ctx, op, http.MethodGet, path, q, nil, &col); err != nil {
		return nil, 0, err
	}
	out := make([]M, 0, len(col.Items))
	for _, d := range col.Items {
		out = append(out, toModel(d))
	}
	return out, col.TotalHits, nil
}

// walkPages reads every page of a listing with the shared pager: it
// follows what Crayon returned, so a server capping PageSize below the
// size asked for (0 means AllPageSize) is still read to the end, and a
// walk that cannot end at TotalHits is an upstream.ErrIncomplete error
// (docs/vendors.md, paging).
func walkPages[M any](ctx context.Context, op string, size int, id func(M) string,
	page func(ctx context.Context, page, size int) ([]M, int64, error)) ([]M, error) {
	if size <= 0 {
		size = AllPageSize
	}
	return upstream.Pager[M]{
		Vendor: model.VendorCrayon, Op: op, Size: size, MaxPages: maxPages, Parallel: pageParallel, ID: id,
		Fetch: func(ctx context.Context, offset, size int) (upstream.Page[M], error) {
			items, total, err := page(ctx, offset/size+1, size)
			return upstream.Page[M]{Items: items, Total: total, HasTotal: true}, err
		},
	}.All(ctx)
}

// ListTenants returns one page of customer tenants and the total number of
// matches across all pages.
func (c *Client) ListTenants(ctx context.Context, f TenantFilter) ([]model.Tenant, int64, error) {
	return listPage(ctx, c, "list_tenants", "api/v1/customertenants/", c.tenantQuery(f), tenantDTO.model)
}

// AllTenants walks every page of a listing (f.Page is ignored; f.PageSize 0
// means AllPageSize).
func (c *Client) AllTenants(ctx context.Context, f TenantFilter) ([]model.Tenant, error) {
	return walkPages(ctx, "list_tenants", f.PageSize, func(t model.Tenant) string { return t.ID },
		func(ctx context.Context, page, size int) ([]model.Tenant, int64, error) {
			g := f
			g.Page, g.PageSize = page, size
			return c.ListTenants(ctx, g)
		})
}

// CustomerRecords turns a tenant listing into customer records: removed
// tenants are no customer any more.
func CustomerRecords(ts []model.Tenant) []model.CustomerRecord {
	var out []model.CustomerRecord
	for _, t := range ts {
		if t.Status != model.TenantStatusRemoved {
			out = append(out, t.CustomerRecord())
		}
	}
	return out
}

// Tenant returns one customer tenant. An unknown id is ErrNotFound; so is an
// id that is not a Crayon (integer) id, without calling Crayon.
func (c *Client) Tenant(ctx context.Context, id string) (model.Tenant, error) {
	n, err := pathID(id, "get_tenant")
	if err != nil {
		return model.Tenant{}, err
	}
	var t tenantDTO
	if err := c.call(ctx, "get_tenant", http.MethodGet, "api/v1/customertenants/"+n+"/", nil, nil, &t); err != nil {
		return model.Tenant{}, err
	}
	return t.model(), nil
}

// Agreements returns the agreement consents of a tenant (both types); none
// means the customer has not consented.
func (c *Client) Agreements(ctx context.Context, tenantID string) ([]model.Agreement, error) {
	n, err := pathID(tenantID, "list_agreements")
	if err != nil {
		return nil, err
	}
	var col collection[agreementDTO]
	if err := c.call(ctx, "list_agreements", http.MethodGet, "api/v1/customertenants/"+n+"/agreements", nil, nil, &col); err != nil {
		return nil, err
	}
	out := make([]model.Agreement, 0, len(col.Items))
	for _, a := range col.Items {
		out = append(out, a.model())
	}
	return out, nil
}

// AddAgreement records a customer's consent to a Microsoft agreement and
// returns it as Crayon stored it. Crayon validates the fields (ErrRejected);
// an agreement type Crayon has no number for fails before any call.
func (c *Client) AddAgreement(ctx context.Context, tenantID string, a model.Agreement) (model.Agreement, error) {
	n, err := pathID(tenantID, "add_agreement")
	if err != nil {
		return model.Agreement{}, err
	}
	typ, ok := agreementTypes[a.Type]
	if !ok {
		return model.Agreement{}, fmt.Errorf("crayon: agreement type %q is not one Crayon accepts", a.Type)
	}
	body := agreementDTO{FirstName: a.FirstName, LastName: a.LastName, PhoneNumber: a.PhoneNumber,
		Email: a.Email, AgreementType: typ}
	if !a.AgreedAt.IsZero() {
		body.DateAgreed = &isoTime{a.AgreedAt}
	}
	var got agreementDTO
	if err := c.call(ctx, "add_agreement", http.MethodPost, "api/v1/customertenants/"+n+"/agreements", nil, body, &got); err != nil {
		return model.Agreement{}, err
	}
	return got.model(), nil
}

// pathID canonicalizes a Crayon tenant id (a positive int) for a path.
func pathID(id, op string) (string, error) {
	n, err := strconv.Atoi(id)
	if err != nil || n <= 0 {
		return "", &upstream.Error{Vendor: model.VendorCrayon, Op: op, Status: http.StatusNotFound,
			Message: "not a Crayon tenant id", Err: upstream.ErrNotFound}
	}
	return url.PathEscape(strconv.Itoa(n)), nil
}

// call sends one authenticated API request and decodes a 2xx JSON answer
// into out. Reads are retried by the upstream stack; a 401 is retried once
// with a fresh token (the vendor did not act on it); nothing else is.
func (c *Client) call(ctx context.Context, op, method, path string, q url.Values, body, out any) error {
	u := c.resolve(path)
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return &upstream.Error{Vendor: model.VendorCrayon, Op: op, Err: err}
		}
		payload = b
	}
	return c.tokens.Authorized(ctx, func(tok string) error {
		req, err := upstream.NewRequest(model.VendorCrayon, op, method, u.String(), payload)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		// Only reads may be retried; a repeated POST could add an agreement twice.
		return c.up.Do(ctx, upstream.Call{Op: op, Request: req, Idempotent: method == http.MethodGet, Handle: func(resp *http.Response) error {
			if resp.StatusCode/100 == 2 {
				return upstream.DecodeJSON(resp.Body, out)
			}
			return apiError(resp)
		}})
	})
}

func (c *Client) resolve(path string) *url.URL {
	return c.base.ResolveReference(&url.URL{Path: path})
}

// login runs the password grant. Any refusal of the credentials (a 400, 401
// or 403, or a Token whose Error is set) is ErrCredentials.
func (c *Client) login(ctx context.Context) (upstream.Grant, error) {
	form := url.Values{
		"grant_type": {"password"},
		"username":   {c.cfg.Username},
		"password":   {c.cfg.Password},
		"scope":      {"CustomerApi"},
	}
	req, err := upstream.FormRequest(model.VendorCrayon, c.resolve("api/v1/connect/token").String(), form)
	if err != nil {
		return upstream.Grant{}, err
	}
	req.SetBasicAuth(c.cfg.ClientID, c.cfg.ClientSecret)
	var t tokenDTO
	// A password grant changes nothing at the vendor; retry it.
	err = c.up.Do(ctx, upstream.Call{Op: "token", Request: req, Idempotent: true, Handle: func(resp *http.Response) error {
		switch resp.StatusCode {
		case http.StatusOK:
			if err := upstream.DecodeJSON(resp.Body, &t); err != nil {
				return err
			}
			if t.Error != "" {
				return &upstream.Error{Status: resp.StatusCode, Code: t.Error, Message: t.ErrorDescription, Err: upstream.ErrCredentials}
			}
			if t.AccessToken == "" {
				return &upstream.Error{Status: resp.StatusCode, Err: fmt.Errorf("%w: token response without AccessToken", upstream.ErrMalformed)}
			}
			return nil
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
			body := upstream.ReadErrorBody(resp.Body)
			var bad tokenDTO
			if json.Unmarshal(body, &bad) == nil && bad.Error != "" {
				return &upstream.Error{Status: resp.StatusCode, Code: bad.Error, Message: bad.ErrorDescription, Err: upstream.ErrCredentials}
			}
			e := decodeError(resp, body)
			e.Err = upstream.ErrCredentials
			return e
		}
		return apiError(resp)
	}})
	return upstream.Grant{Access: t.AccessToken, TTL: time.Duration(t.ExpiresIn) * time.Second}, err
}

// apiError turns a non-2xx answer into a typed error carrying Crayon's
// ErrorCode and Message. Like Crayon's SDK, an empty body becomes
// "NO_CONTENT" and a non-JSON one "UNABLE_TO_FORMAT_JSON".
func apiError(resp *http.Response) *upstream.Error {
	e := decodeError(resp, upstream.ReadErrorBody(resp.Body))
	switch s := resp.StatusCode; {
	case s == http.StatusNotFound:
		e.Err = upstream.ErrNotFound
	case s == http.StatusUnauthorized, s == http.StatusForbidden:
		// The token or the configured organization is refused: the gateway's setup.
		e.Err = upstream.ErrCredentials
	case s == http.StatusConflict:
		e.Err = upstream.ErrConflict
	case s == http.StatusTooManyRequests, s >= 500:
		e.RetryAfter = upstream.RetryAfter(resp.Header, time.Now())
	case s >= 400:
		e.Err = upstream.ErrRejected
	default: // 1xx/3xx: nothing Crayon documents
		e.Err = upstream.ErrMalformed
	}
	return e
}

func decodeError(resp *http.Response, body []byte) *upstream.Error {
	e := &upstream.Error{Status: resp.StatusCode}
	var eb errorDTO
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		e.Code, e.Message = "NO_CONTENT", http.StatusText(resp.StatusCode)
		if resp.StatusCode == http.StatusNotFound {
			e.Message = "Not found"
		}
	case json.Unmarshal(body, &eb) != nil:
		e.Code, e.Message = "UNABLE_TO_FORMAT_JSON", "error body is not JSON"
	default:
		e.Code, e.Message = eb.ErrorCode, eb.message()
	}
	return e
}
