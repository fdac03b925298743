package bokamera

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/partnerhub/gateway/internal/upstream"
)

// token is a cached Keycloak grant. Expiry times already include a margin.
type token struct {
	access, refresh         string
	expires, refreshExpires time.Time
}

type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	ExpiresIn        int    `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int    `json:"refresh_expires_in"`
}

// usableUntil is when a lifetime of secs, starting at issued, should be
// treated as over: 10 % early, at most 30 s, so a token never expires in
// flight. secs <= 0 means unknown, so not reusable.
func usableUntil(issued time.Time, secs int) time.Time {
	ttl := time.Duration(secs) * time.Second
	return issued.Add(ttl - min(ttl/10, 30*time.Second))
}

// accessToken returns a valid bearer token: the cached one, else a refresh
// while the refresh token lives, else a password grant. Fetches are
// serialised so concurrent callers share one grant.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	if t, ok := c.cached(); ok {
		return t.access, nil
	}
	select {
	case c.fetch <- struct{}{}:
		defer func() { <-c.fetch }()
	case <-ctx.Done():
		return "", &upstream.Error{Vendor: c.up.Vendor(), Op: "token", Err: ctx.Err()}
	}
	// Another caller may have fetched a token while this one waited.
	cur, ok := c.cached()
	if ok {
		return cur.access, nil
	}
	if cur.refresh != "" && c.now().Before(cur.refreshExpires) {
		t, err := c.grant(ctx, url.Values{"grant_type": {"refresh_token"}, "client_id": {c.cfg.ClientID},
			"refresh_token": {cur.refresh}})
		if err == nil {
			c.setToken(t)
			return t.access, nil
		}
		// Only a refused refresh token (session ended) warrants a fresh
		// login; an IdP that is down or slow would fail the password grant
		// alike, doubling the wait.
		if !errors.Is(err, upstream.ErrCredentials) {
			return "", err
		}
	}
	c.setToken(token{})
	t, err := c.grant(ctx, url.Values{"grant_type": {"password"}, "client_id": {c.cfg.ClientID},
		"username": {c.cfg.Username}, "password": {c.cfg.Password}})
	if err != nil {
		return "", err
	}
	c.setToken(t)
	return t.access, nil
}

// cached returns the current token and whether its access token is usable.
func (c *Client) cached() (token, bool) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tok, c.tok.access != "" && now.Before(c.tok.expires)
}

func (c *Client) setToken(t token) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tok = t
}

// dropToken forgets access (rejected by the API) unless a newer token
// already replaced it.
func (c *Client) dropToken(access string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok.access == access {
		c.tok = token{}
	}
}

// grant posts one OAuth form to the Keycloak token endpoint.
func (c *Client) grant(ctx context.Context, form url.Values) (token, error) {
	req, err := http.NewRequest(http.MethodPost, c.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return token{}, &upstream.Error{Vendor: c.up.Vendor(), Op: "token", Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	issued := c.now()
	var tr tokenResponse
	// A token grant may be repeated; a rotated refresh token that the vendor
	// refuses on the retry falls back to a password grant in accessToken.
	err = c.up.Do(ctx, upstream.Call{Op: "token", Request: req, Idempotent: true, Handle: func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			return tokenError(resp)
		}
		if err := decode(resp, &tr); err != nil {
			return err
		}
		if tr.AccessToken == "" {
			return &upstream.Error{Status: resp.StatusCode, Err: fmt.Errorf("%w: token response without access_token", upstream.ErrMalformed)}
		}
		return nil
	}})
	if err != nil {
		return token{}, err
	}
	return token{
		access: tr.AccessToken, expires: usableUntil(issued, tr.ExpiresIn),
		refresh: tr.RefreshToken, refreshExpires: usableUntil(issued, tr.RefreshExpiresIn),
	}, nil
}

// tokenError maps Keycloak's {"error","error_description"} answers. Any 4xx
// but 429 means the gateway's own login is wrong or misconfigured.
func tokenError(resp *http.Response) error {
	e := &upstream.Error{Status: resp.StatusCode}
	var kc struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(upstream.ReadErrorBody(resp.Body), &kc) == nil {
		e.Code, e.Message = bounded(kc.Error), bounded(kc.Description)
	}
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests, s >= 500:
		e.RetryAfter = upstream.RetryAfter(resp.Header, time.Now())
	case s >= 400:
		e.Err = upstream.ErrCredentials
	default:
		e.Err = fmt.Errorf("%w: unexpected status", upstream.ErrMalformed)
	}
	return e
}
