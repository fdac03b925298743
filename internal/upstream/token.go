package upstream

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
)

// Grant is what a token endpoint issued. A TTL of 0 means the lifetime is
// unknown: the token is used for the call that fetched it, never cached.
type Grant struct {
	Access     string
	TTL        time.Duration
	Refresh    string
	RefreshTTL time.Duration
}

// TokenSource is the one bearer-token cache every vendor with a token
// endpoint uses (Crayon's password grant, BokaMera's Keycloak password and
// refresh grants, GDAP's Entra client credentials): one fetch in flight at
// a time, shared by all waiters; a token renewed shortly before it
// expires; a refused token dropped, so the next call fetches a fresh one.
type TokenSource struct {
	// Vendor names the vendor in errors of the source itself.
	Vendor string
	// Login fetches a new grant (password or client credentials).
	Login func(ctx context.Context) (Grant, error)
	// Refresh, if set, trades a live refresh token for a new grant. A
	// refusal (ErrCredentials) falls back to Login; any other failure is
	// returned, since the same endpoint would fail the login alike.
	Refresh func(ctx context.Context, refresh string) (Grant, error)
	// MaxMargin bounds how early a token is renewed: 10 % of its lifetime,
	// at most MaxMargin.
	MaxMargin time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	once  sync.Once
	fetch chan struct{} // one fetch at a time, waitable with a context

	mu                     sync.Mutex
	access, refresh        string
	expires, refreshExpire time.Time
}

func (ts *TokenSource) now() time.Time {
	if ts.Now != nil {
		return ts.Now()
	}
	return time.Now()
}

// Token returns a usable bearer token, fetching one when none is cached or
// the cached one is due.
func (ts *TokenSource) Token(ctx context.Context) (string, error) {
	ts.once.Do(func() { ts.fetch = make(chan struct{}, 1) })
	if tok, _, ok := ts.cached(); ok {
		return tok, nil
	}
	select {
	case ts.fetch <- struct{}{}:
		defer func() { <-ts.fetch }()
	case <-ctx.Done():
		return "", &Error{Vendor: ts.Vendor, Op: "token", Err: ctx.Err()}
	}
	// Whoever held the slot before may have fetched one already.
	tok, refresh, ok := ts.cached()
	if ok {
		return tok, nil
	}
	issued := ts.now()
	if refresh != "" && ts.Refresh != nil {
		g, err := ts.Refresh(ctx, refresh)
		if err == nil {
			return ts.store(g, issued), nil
		}
		if !errors.Is(err, ErrCredentials) {
			return "", err
		}
	}
	ts.store(Grant{}, issued)
	g, err := ts.Login(ctx)
	if err != nil {
		return "", err
	}
	return ts.store(g, issued), nil
}

// cached returns the access token and whether it is usable, and a live
// refresh token if there is one.
func (ts *TokenSource) cached() (access, refresh string, ok bool) {
	now := ts.now()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.refresh != "" && now.Before(ts.refreshExpire) {
		refresh = ts.refresh
	}
	return ts.access, refresh, ts.access != "" && now.Before(ts.expires)
}

func (ts *TokenSource) store(g Grant, issued time.Time) string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.access, ts.expires = g.Access, ts.until(issued, g.TTL)
	ts.refresh, ts.refreshExpire = g.Refresh, ts.until(issued, g.RefreshTTL)
	return g.Access
}

// until is when a lifetime starting at issued is treated as over.
func (ts *TokenSource) until(issued time.Time, ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	return issued.Add(ttl - min(ttl/10, ts.MaxMargin))
}

// Drop forgets tok after the vendor refused it, unless a newer token
// already replaced it.
func (ts *TokenSource) Drop(tok string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.access == tok {
		ts.access, ts.expires = "", time.Time{}
	}
}

// Authorized runs call with a bearer token. When the vendor answers 401,
// the token is dropped and call runs once more with a fresh one: a token
// may expire or be revoked early at the vendor, and a 401 means the
// request was not acted on. A nil ts calls with "" (no token endpoint).
func (ts *TokenSource) Authorized(ctx context.Context, call func(token string) error) error {
	if ts == nil {
		return call("")
	}
	tok, err := ts.Token(ctx)
	if err != nil {
		return err
	}
	err = call(tok)
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusUnauthorized {
		return err
	}
	ts.Drop(tok)
	if tok, err = ts.Token(ctx); err != nil {
		return err
	}
	return call(tok)
}
