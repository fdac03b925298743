package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedTokens remembers tokens that verified, so a caller's next
// requests skip the signature check (a third of a list request's CPU).
// An entry lives until the token expires, at most verifiedTTL; the key is
// the token's hash, so no token is kept in memory.
type verifiedTokens struct {
	mu      sync.Mutex
	entries map[[32]byte]verified
}

type verified struct {
	p     Principal
	until time.Time
}

const (
	verifiedTTL     = 2 * time.Minute
	verifiedEntries = 4096
)

func (c *verifiedTokens) get(raw string, now time.Time) (Principal, bool) {
	k := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || !now.Before(e.until) {
		return Principal{}, false
	}
	return e.p, true
}

func (c *verifiedTokens) put(raw string, p Principal, expiry, now time.Time) {
	until := now.Add(verifiedTTL)
	if !expiry.IsZero() && expiry.Before(until) {
		until = expiry
	}
	k := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= verifiedEntries {
		c.entries = make(map[[32]byte]verified) // rare: start over rather than track age
	}
	c.entries[k] = verified{p: p, until: until}
}
