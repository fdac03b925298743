// Package bokamera is the gateway's client for the BokaMera booking API, a
// ServiceStack host: the customer query and the Axema user sync jobs. Every
// call carries the company's x-api-key and a Keycloak bearer token.
package bokamera

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream"
)

// DefaultClientID is the public Keycloak client BokaMera documents for API users.
const DefaultClientID = "bm-external-api-users"

const (
	pageSize = 100  // the AutoQuery cap, so larger pages would not help
	maxPages = 1000 // guards AllCustomers against a server that never ends
	// pageParallel bounds the pages of one listing read at once.
	pageParallel = 4
)

// Config configures a Client.
type Config struct {
	BaseURL            string // e.g. https://api.bokamera.se/ (must end with /)
	APIKey             string // x-api-key header on every request
	TokenURL           string // Keycloak token endpoint (absolute URL)
	ClientID           string // default DefaultClientID
	Username, Password string // Keycloak password grant
	CompanyID          string // default company (GUID) for queries and syncs
}

// Client calls BokaMera through the shared upstream stack. It is safe for
// concurrent use.
type Client struct {
	up       *upstream.Client
	cfg      Config
	base     *url.URL
	now      func() time.Time // token clock; tests replace it
	pageSize int
	tokens   *upstream.TokenSource
}

// New validates cfg and builds a client on up.
func New(up *upstream.Client, cfg Config) (*Client, error) {
	var errs []error
	if up == nil {
		errs = append(errs, errors.New("upstream client is required"))
	}
	base, err := upstream.BaseURL("BaseURL", cfg.BaseURL)
	if err != nil {
		errs = append(errs, err)
	}
	if _, err := upstream.HTTPURL("TokenURL", cfg.TokenURL); err != nil {
		errs = append(errs, err)
	}
	if cfg.APIKey == "" {
		errs = append(errs, errors.New("APIKey is required"))
	}
	if cfg.Username == "" || cfg.Password == "" {
		errs = append(errs, errors.New("username and password are required"))
	}
	if cfg.CompanyID != "" && !upstream.IsGUID(cfg.CompanyID) {
		errs = append(errs, errors.New("CompanyID must be a GUID"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("bokamera config: %w", err)
	}
	if cfg.ClientID == "" {
		cfg.ClientID = DefaultClientID
	}
	c := &Client{up: up, cfg: cfg, base: base, now: time.Now, pageSize: pageSize}
	// Keycloak tokens are short (about 300 s): renew 10 % early, at most
	// 30 s, and use the refresh token while it lives.
	c.tokens = &upstream.TokenSource{Vendor: up.Vendor(), Login: c.login, Refresh: c.refreshGrant, MaxMargin: 30 * time.Second,
		Now: func() time.Time { return c.now() }}
	return c, nil
}

// CustomerQuery filters and pages GET /customers. Take 0 leaves the page
// size to BokaMera.
type CustomerQuery struct {
	Search     string
	Skip, Take int
	// CustomerID narrows the query to one customer (a GUID); see Customer.
	CustomerID string
}

// ListCustomers returns one page of the default company's customers and the
// total number matching.
func (c *Client) ListCustomers(ctx context.Context, q CustomerQuery) ([]model.BookingCustomer, int, error) {
	p, err := c.customerPage(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	total := p.Offset + len(p.Results)
	if p.Total != nil {
		total = *p.Total
	}
	return p.items, total, nil
}

// AllCustomers pages through every customer matching search. The walk
// follows what BokaMera returned (Offset, Total and the items), so a server
// capping Take is still read to the end; a walk that cannot reach Total is
// an upstream.ErrIncomplete error (docs/vendors.md, paging).
func (c *Client) AllCustomers(ctx context.Context, search string) ([]model.BookingCustomer, error) {
	return upstream.Pager[model.BookingCustomer]{
		Vendor: c.up.Vendor(), Op: "list_customers", Size: c.pageSize, MaxPages: maxPages, Parallel: pageParallel,
		ID: func(b model.BookingCustomer) string { return strings.ToLower(b.ID) },
		Fetch: func(ctx context.Context, offset, size int) (upstream.Page[model.BookingCustomer], error) {
			p, err := c.customerPage(ctx, CustomerQuery{Search: search, Skip: offset, Take: size})
			if err != nil {
				return upstream.Page[model.BookingCustomer]{}, err
			}
			if !p.bare && p.Offset != 0 && p.Offset != offset { // an omitted Offset is tolerated
				return upstream.Page[model.BookingCustomer]{}, &upstream.Error{Vendor: c.up.Vendor(), Op: "list_customers", Status: http.StatusOK,
					Err: fmt.Errorf("%w: asked for Skip=%d, answer has Offset %d", upstream.ErrMalformed, offset, p.Offset)}
			}
			pg := upstream.Page[model.BookingCustomer]{Items: p.items, Whole: p.bare}
			if p.Total != nil {
				pg.Total, pg.HasTotal = int64(*p.Total), true
			}
			return pg, nil
		},
	}.All(ctx)
}

// Customer looks one customer of the default company up by id with the
// query's CustomerId filter. That filter is known only from a third-party
// client (docs/vendors.md, BokaMera), so a server ignoring it is tolerated: the
// answer is searched for the id, and when it holds only other customers the
// whole list is paged through. An unknown or malformed id is ErrNotFound.
func (c *Client) Customer(ctx context.Context, id string) (model.BookingCustomer, error) {
	notFound := &upstream.Error{Vendor: c.up.Vendor(), Op: "list_customers", Status: http.StatusNotFound,
		Message: "no such customer", Err: upstream.ErrNotFound}
	if !upstream.IsGUID(id) {
		return model.BookingCustomer{}, notFound
	}
	find := func(items []model.BookingCustomer) (model.BookingCustomer, bool) {
		i := slices.IndexFunc(items, func(b model.BookingCustomer) bool { return strings.EqualFold(b.ID, id) })
		if i < 0 {
			return model.BookingCustomer{}, false
		}
		return items[i], true
	}
	p, err := c.customerPage(ctx, CustomerQuery{CustomerID: id})
	if err != nil {
		return model.BookingCustomer{}, err
	}
	if b, ok := find(p.items); ok {
		return b, nil
	}
	if len(p.items) == 0 {
		return model.BookingCustomer{}, notFound
	}
	all, err := c.AllCustomers(ctx, "")
	if err != nil {
		return model.BookingCustomer{}, err
	}
	if b, ok := find(all); ok {
		return b, nil
	}
	return model.BookingCustomer{}, notFound
}

type customerPage struct {
	Offset  int
	Total   *int
	Results []wireCustomer
	bare    bool
	items   []model.BookingCustomer
}

func (c *Client) customerPage(ctx context.Context, q CustomerQuery) (customerPage, error) {
	v := url.Values{}
	if c.cfg.CompanyID != "" {
		v.Set("CompanyId", c.cfg.CompanyID)
	}
	if q.Search != "" {
		v.Set("Search", q.Search)
	}
	if q.CustomerID != "" {
		v.Set("CustomerId", q.CustomerID)
	}
	if q.Skip > 0 {
		v.Set("Skip", fmt.Sprint(q.Skip))
	}
	if q.Take > 0 {
		v.Set("Take", fmt.Sprint(q.Take))
	}
	var p customerPage
	err := c.call(ctx, "list_customers", http.MethodGet, "customers", v, nil, func(resp *http.Response) error {
		var raw json.RawMessage
		if err := decode(resp, &raw); err != nil {
			return err
		}
		// BokaMera answers QueryResponse; some deployments a bare array.
		if p.bare = bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")); p.bare {
			p.Offset = q.Skip
			return unmarshal(resp, raw, &p.Results)
		}
		return unmarshal(resp, raw, &p)
	})
	if err != nil {
		return p, err
	}
	for _, w := range p.Results {
		if w.ID == "" {
			return p, &upstream.Error{Vendor: c.up.Vendor(), Op: "list_customers", Status: http.StatusOK,
				Err: fmt.Errorf("%w: customer without Id", upstream.ErrMalformed)}
		}
		company := w.CompanyID
		if company == "" {
			company = c.cfg.CompanyID
		}
		// GUIDs are compared and shown in lower case, however BokaMera cases them.
		p.items = append(p.items, model.BookingCustomer{ID: lowerGUID(w.ID), CompanyID: lowerGUID(company), FirstName: w.Firstname,
			LastName: w.Lastname, Email: w.Email, Phone: w.Phone, Visible: w.Visible,
			CreatedAt: time.Time(w.Created), UpdatedAt: time.Time(w.Updated)})
	}
	return p, nil
}

// StartUserSync starts a background Axema user sync for companyID ("" means
// the configured company, or the logged-in user's). A sync already running
// for the company gives ErrConflict. It is never retried.
func (c *Client) StartUserSync(ctx context.Context, companyID string) (model.AxemaSyncJob, error) {
	body := map[string]string{}
	if id := c.company(companyID); id != "" {
		body["CompanyId"] = id
	}
	var w wireJob
	err := c.call(ctx, "start_user_sync", http.MethodPost, "codelock/axema/usersync", nil, body, func(resp *http.Response) error {
		return decode(resp, &w)
	})
	if err != nil {
		return model.AxemaSyncJob{}, err
	}
	return c.job(w, companyID, "start_user_sync")
}

// UserSyncJobs lists the company's sync jobs, newest first.
func (c *Client) UserSyncJobs(ctx context.Context, companyID string) ([]model.AxemaSyncJob, error) {
	v := url.Values{}
	if id := c.company(companyID); id != "" {
		v.Set("CompanyId", id)
	}
	var env struct{ Results []wireJob }
	err := c.call(ctx, "list_user_syncs", http.MethodGet, "codelock/axema/usersync", v, nil, func(resp *http.Response) error {
		return decode(resp, &env)
	})
	if err != nil {
		return nil, err
	}
	jobs := make([]model.AxemaSyncJob, 0, len(env.Results))
	for _, w := range env.Results {
		j, err := c.job(w, companyID, "list_user_syncs")
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	// The order is unspecified upstream.
	slices.SortStableFunc(jobs, func(a, b model.AxemaSyncJob) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return jobs, nil
}

// UserSyncJob fetches one sync job with its progress counters.
func (c *Client) UserSyncJob(ctx context.Context, id, companyID string) (model.AxemaSyncJob, error) {
	if id == "" {
		return model.AxemaSyncJob{}, &upstream.Error{Vendor: c.up.Vendor(), Op: "get_user_sync", Err: upstream.ErrNotFound}
	}
	v := url.Values{}
	if cid := c.company(companyID); cid != "" {
		v.Set("CompanyId", cid)
	}
	var w wireJob
	err := c.call(ctx, "get_user_sync", http.MethodGet, "codelock/axema/usersync/"+url.PathEscape(id), v, nil, func(resp *http.Response) error {
		return decode(resp, &w)
	})
	if err != nil {
		return model.AxemaSyncJob{}, err
	}
	return c.job(w, companyID, "get_user_sync")
}

// lowerGUID lower-cases a GUID; anything else is kept as sent.
func lowerGUID(s string) string {
	if upstream.IsGUID(s) {
		return strings.ToLower(s)
	}
	return s
}

func (c *Client) company(id string) string {
	if id == "" {
		return c.cfg.CompanyID
	}
	return id
}

func (c *Client) job(w wireJob, companyID, op string) (model.AxemaSyncJob, error) {
	j, err := w.model()
	if err != nil {
		return j, &upstream.Error{Vendor: c.up.Vendor(), Op: op, Status: http.StatusOK, Err: fmt.Errorf("%w: %w", upstream.ErrMalformed, err)}
	}
	if j.CompanyID == "" {
		j.CompanyID = c.company(companyID)
	}
	return j, nil
}

// call sends one authenticated API request; handle decodes a 2xx answer.
// A 401 is retried once with a fresh token (the vendor did not act on it).
func (c *Client) call(ctx context.Context, op, method, rel string, q url.Values, body any, handle func(*http.Response) error) error {
	u, err := url.Parse(rel)
	if err != nil {
		return &upstream.Error{Vendor: c.up.Vendor(), Op: op, Err: err}
	}
	u = c.base.ResolveReference(u)
	u.RawQuery = q.Encode()
	var payload []byte
	if body != nil {
		if payload, err = json.Marshal(body); err != nil {
			return &upstream.Error{Vendor: c.up.Vendor(), Op: op, Err: err}
		}
	}
	return c.tokens.Authorized(ctx, func(tok string) error {
		req, err := upstream.NewRequest(c.up.Vendor(), op, method, u.String(), payload)
		if err != nil {
			return err
		}
		req.Header.Set("x-api-key", c.cfg.APIKey)
		req.Header.Set("Authorization", "Bearer "+tok)
		// Only reads may be retried; a repeated POST would start a second sync.
		return c.up.Do(ctx, upstream.Call{Op: op, Request: req, Idempotent: method == http.MethodGet, Handle: func(resp *http.Response) error {
			if resp.StatusCode/100 != 2 {
				return apiError(resp)
			}
			return handle(resp)
		}})
	})
}

// apiError maps a ServiceStack ResponseStatus answer onto *upstream.Error.
func apiError(resp *http.Response) error {
	e := &upstream.Error{Status: resp.StatusCode}
	var env struct {
		ResponseStatus *struct {
			ErrorCode, Message string
			Errors             []struct{ ErrorCode, FieldName, Message string }
		}
	}
	if json.Unmarshal(upstream.ReadErrorBody(resp.Body), &env) == nil && env.ResponseStatus != nil {
		rs := env.ResponseStatus
		e.Code, e.Message = rs.ErrorCode, rs.Message
		if len(rs.Errors) > 0 && e.Message == "" {
			f := rs.Errors[0]
			e.Message = strings.TrimPrefix(f.FieldName+": "+f.Message, ": ")
			if e.Code == "" {
				e.Code = f.ErrorCode
			}
		}
		e.Code, e.Message = bounded(e.Code), bounded(e.Message)
	}
	switch s := resp.StatusCode; {
	case s == http.StatusNotFound:
		e.Err = upstream.ErrNotFound
	case s == http.StatusConflict, s == http.StatusBadRequest && syncRunning(e.Code, e.Message):
		// The conflict status is undocumented; 400 is as likely as 409.
		e.Err = upstream.ErrConflict
	case s == http.StatusUnauthorized, s == http.StatusForbidden:
		e.Err = upstream.ErrCredentials
	case s == http.StatusTooManyRequests, s >= 500:
		e.RetryAfter = upstream.RetryAfter(resp.Header, time.Now())
	case s >= 400:
		e.Err = upstream.ErrRejected
	default:
		e.Err = fmt.Errorf("%w: unexpected status", upstream.ErrMalformed)
	}
	return e
}

func syncRunning(code, msg string) bool {
	m := strings.ToLower(msg)
	return strings.EqualFold(code, "Conflict") || strings.Contains(m, "already running") ||
		strings.Contains(m, "already in progress") ||
		(strings.Contains(m, "sync") && (strings.Contains(m, "running") || strings.Contains(m, "in progress")))
}

// bounded keeps vendor text short enough for logs and error details.
func bounded(s string) string { return upstream.Truncate(s, 500) }

// decode reads a success body; a body not in the documented format is the
// vendor's fault (ErrMalformed, with the status kept).
func decode(resp *http.Response, v any) error {
	if err := upstream.DecodeJSON(resp.Body, v); err != nil {
		return &upstream.Error{Status: resp.StatusCode, Err: err}
	}
	return nil
}

func unmarshal(resp *http.Response, raw []byte, v any) error {
	if err := upstream.UnmarshalJSON(raw, v); err != nil {
		return &upstream.Error{Status: resp.StatusCode, Err: err}
	}
	return nil
}
