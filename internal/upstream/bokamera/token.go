package bokamera

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/partnerhub/gateway/internal/upstream"
)

// Keycloak grants for upstream.TokenSource: the password grant, and the
// refresh-token grant while the refresh token lives.

type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	ExpiresIn        int    `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int    `json:"refresh_expires_in"`
}

func (c *Client) login(ctx context.Context) (upstream.Grant, error) {
	return c.grant(ctx, url.Values{"grant_type": {"password"}, "client_id": {c.cfg.ClientID},
		"username": {c.cfg.Username}, "password": {c.cfg.Password}})
}

func (c *Client) refreshGrant(ctx context.Context, refresh string) (upstream.Grant, error) {
	return c.grant(ctx, url.Values{"grant_type": {"refresh_token"}, "client_id": {c.cfg.ClientID}, "refresh_token": {refresh}})
}

// grant posts one OAuth form to the Keycloak token endpoint.
func (c *Client) grant(ctx context.Context, form url.Values) (upstream.Grant, error) {
	req, err := upstream.FormRequest(c.up.Vendor(), c.cfg.TokenURL, form)
	if err != nil {
		return upstream.Grant{}, err
	}
	var tr tokenResponse
	// A token grant may be repeated; a rotated refresh token that the vendor
	// refuses on the retry falls back to a password grant in the source.
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
		return upstream.Grant{}, err
	}
	return upstream.Grant{
		Access: tr.AccessToken, TTL: time.Duration(tr.ExpiresIn) * time.Second,
		Refresh: tr.RefreshToken, RefreshTTL: time.Duration(tr.RefreshExpiresIn) * time.Second,
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
	if upstream.UnmarshalJSON(upstream.ReadErrorBody(resp.Body), &kc) == nil {
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
