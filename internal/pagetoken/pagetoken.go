// Package pagetoken makes opaque, tamper-evident cursors. A token carries a
// position and a fingerprint of the query it belongs to, signed with
// HMAC-SHA256, so a forged, truncated or re-used-with-other-filters token is
// recognised and refused rather than silently returning the wrong page.
package pagetoken

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
)

// ErrInvalid is returned for any token that was not issued for this query.
var ErrInvalid = errors.New("invalid page token")

// Codec signs and checks tokens with one key. Replicas behind one load
// balancer must share the key.
type Codec struct {
	key       []byte
	ephemeral bool
}

// New returns a codec with key, or with a random key when key is empty
// (tokens then survive neither a restart nor a hop to another replica).
func New(key []byte) *Codec {
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
		return &Codec{key: key, ephemeral: true}
	}
	return &Codec{key: key}
}

// Ephemeral reports whether the key was made up at start (no key given):
// tokens then die with the process.
func (c *Codec) Ephemeral() bool { return c.ephemeral }

// Position is what a token carries: an offset into the merged list (the
// gateway's own paging) and/or a vendor-native position such as a Crayon
// page number.
type Position struct {
	Offset int `json:"o,omitempty"`
	Page   int `json:"p,omitempty"`
	// Size is the vendor page size Page counts in, when it differs from
	// the caller's (a vendor that caps its pages).
	Size int `json:"s,omitempty"`
	// Gen pins the snapshot generation the offset belongs to.
	Gen uint64 `json:"g,omitempty"`
	// Part is which of several vendor listings a walk is in (with Size,
	// the page size the vendor actually used).
	Part int `json:"t,omitempty"`
	// Query fingerprints the filters the token was issued for.
	Query string `json:"q"`
}

// Encode makes the token for pos.
func (c *Codec) Encode(pos Position) string {
	payload, _ := json.Marshal(pos)
	mac := hmac.New(sha256.New, c.key)
	mac.Write(payload)
	return base64.RawURLEncoding.EncodeToString(append(mac.Sum(nil)[:16], payload...))
}

// Decode checks tok and that it was issued for the query fingerprint.
func (c *Codec) Decode(tok, query string) (Position, error) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) <= 16 || len(tok) > 512 {
		return Position{}, ErrInvalid
	}
	sig, payload := raw[:16], raw[16:]
	mac := hmac.New(sha256.New, c.key)
	mac.Write(payload)
	if !hmac.Equal(sig, mac.Sum(nil)[:16]) {
		return Position{}, ErrInvalid
	}
	var pos Position
	if err := json.Unmarshal(payload, &pos); err != nil || pos.Query != query || pos.Offset < 0 || pos.Page < 0 {
		return Position{}, ErrInvalid
	}
	return pos, nil
}
