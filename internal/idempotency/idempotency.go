// Package idempotency remembers the answers of writes by Idempotency-Key, so
// a retried write gets the first answer instead of reaching the vendor
// twice. Keys are scoped to the caller (subject): two callers can never see
// each other's answers. Records live in memory for a TTL; durability across
// restarts and replicas is separate work.
package idempotency

import (
	"errors"
	"net/http"
	"sync"
	"time"
)

var (
	// ErrInFlight: the first request with this key has not finished yet.
	ErrInFlight = errors.New("a request with this idempotency key is still in progress")
	// ErrMismatch: the key was used before for a different request.
	ErrMismatch = errors.New("the idempotency key was used for a different request")
)

// Response is a remembered answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

type entry struct {
	fingerprint string
	done        bool
	resp        Response
	expires     time.Time
}

// Store holds keys in memory. The zero value is not usable; use New.
type Store struct {
	mu      sync.Mutex
	entries map[string]*entry
	ttl     time.Duration
	max     int
	now     func() time.Time
}

// New returns a store keeping answers for ttl, holding at most max keys
// (beyond that new keys are refused with ErrFull rather than evicting
// answers a retry may still need).
func New(ttl time.Duration, max int) *Store {
	return &Store{entries: map[string]*entry{}, ttl: ttl, max: max, now: time.Now}
}

// ErrFull: too many live keys; the write should be retried later.
var ErrFull = errors.New("too many idempotency keys in use")

func scoped(subject, key string) string { return subject + "\x00" + key }

// Begin claims key for subject and a request fingerprint. It returns the
// remembered answer when the same request already finished (replay), or
// ErrInFlight / ErrMismatch / ErrFull. On (nil, nil) the caller owns the
// key and must call Finish or Release.
func (s *Store) Begin(subject, key, fingerprint string) (*Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	k := scoped(subject, key)
	if e, ok := s.entries[k]; ok && now.Before(e.expires) {
		switch {
		case e.fingerprint != fingerprint:
			return nil, ErrMismatch
		case !e.done:
			return nil, ErrInFlight
		}
		r := e.resp
		r.Header = e.resp.Header.Clone()
		return &r, nil
	}
	if len(s.entries) >= s.max {
		s.sweep(now)
		if len(s.entries) >= s.max {
			return nil, ErrFull
		}
	}
	s.entries[k] = &entry{fingerprint: fingerprint, expires: now.Add(s.ttl)}
	return nil, nil
}

// Finish remembers the answer of a claimed key.
func (s *Store) Finish(subject, key string, r Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[scoped(subject, key)]; ok {
		e.done, e.resp, e.expires = true, r, s.now().Add(s.ttl)
	}
}

// Release forgets a claimed key without an answer, so a retry runs anew
// (used when the write certainly did not reach the vendor).
func (s *Store) Release(subject, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.entries, scoped(subject, key))
}

func (s *Store) sweep(now time.Time) {
	for k, e := range s.entries {
		if !now.Before(e.expires) {
			delete(s.entries, k)
		}
	}
}
