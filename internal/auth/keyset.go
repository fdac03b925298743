package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultJWKSMinRefresh is how often, at most, an unknown key id makes the
// verifier fetch the issuer's key set again.
const DefaultJWKSMinRefresh = time.Minute

// errUnknownKey: the token names a key the cached set does not hold and
// the set may not be refreshed yet (or the refresh did not bring it).
var errUnknownKey = errors.New("token signed by a key the issuer does not publish")

// keySet verifies signatures against the issuer's cached JWKS. Unlike
// go-oidc's RemoteKeySet, which fetches again after every failed
// verification, it refreshes only for a key id it does not know, at most
// once per minRefresh, so forged tokens cannot make the gateway hammer the
// identity provider (which could throttle it and hide a real rotation).
type keySet struct {
	url        string
	client     *http.Client
	ctx        context.Context // outlives requests; fetches run under it
	minRefresh time.Duration
	now        func() time.Time
	fetches    *prometheus.CounterVec

	mu        sync.Mutex
	keys      []jose.JSONWebKey
	lastFetch time.Time     // last attempt, successful or not
	inflight  chan struct{} // closed when the running fetch ends
}

// VerifySignature implements oidc.KeySet.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, signatureAlgs())
	if err != nil {
		return nil, fmt.Errorf("malformed jwt: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("the token must carry exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	if payload, known, err := k.verify(jws, kid); known {
		// A known key that does not verify the token is a forgery or a
		// corrupted token: fetching again cannot help.
		return payload, err
	}
	if err := k.refresh(ctx); err != nil {
		return nil, err
	}
	if payload, known, err := k.verify(jws, kid); known {
		return payload, err
	}
	return nil, errUnknownKey
}

// verify tries the cached keys named kid (every key when the token names
// none). known is false when no cached key fits, which alone may justify a
// refresh.
func (k *keySet) verify(jws *jose.JSONWebSignature, kid string) (payload []byte, known bool, err error) {
	k.mu.Lock()
	keys := k.keys
	k.mu.Unlock()
	for _, key := range keys {
		if kid != "" && key.KeyID != kid {
			continue
		}
		if kid != "" {
			known = true
		}
		if p, err := jws.Verify(key.Key); err == nil {
			return p, true, nil
		}
	}
	if known {
		return nil, true, errors.New("failed to verify signature")
	}
	return nil, false, nil
}

// refresh fetches the key set unless one was fetched (or tried) within
// minRefresh; concurrent callers share one fetch. It reports errUnknownKey
// when the refresh is not allowed yet.
func (k *keySet) refresh(ctx context.Context) error {
	k.mu.Lock()
	if ch := k.inflight; ch != nil {
		k.mu.Unlock()
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	now := k.now()
	if !k.lastFetch.IsZero() && now.Sub(k.lastFetch) < k.minRefresh {
		k.mu.Unlock()
		return errUnknownKey
	}
	k.lastFetch = now
	ch := make(chan struct{})
	k.inflight = ch
	k.mu.Unlock()

	// The fetch runs under the verifier's context, so a caller that gives
	// up does not waste the one refresh of this interval.
	var fetchErr error
	go func() {
		defer close(ch)
		keys, err := k.fetch()
		k.mu.Lock()
		defer k.mu.Unlock()
		k.inflight = nil
		if err != nil {
			fetchErr = err
			k.fetches.WithLabelValues("failure").Inc()
			return // keep the keys we had
		}
		k.fetches.WithLabelValues("success").Inc()
		k.keys = keys
	}()
	select {
	case <-ch:
		return fetchErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxJWKSBytes bounds the key set document.
const maxJWKSBytes = 1 << 20

func (k *keySet) fetch() ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(k.ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching jwks: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes))
	if err != nil {
		return nil, fmt.Errorf("reading jwks: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching jwks: status %d", resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("decoding jwks: %w", err)
	}
	keys := make([]jose.JSONWebKey, 0, len(set.Keys))
	for _, key := range set.Keys {
		if key.Use == "" || key.Use == "sig" {
			keys = append(keys, key)
		}
	}
	return keys, nil
}

func signatureAlgs() []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(SupportedAlgs))
	for i, a := range SupportedAlgs {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}
