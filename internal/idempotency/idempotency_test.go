package idempotency

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestStore(t *testing.T) {
	s := New(time.Hour, 2)
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }

	if r, err := s.Begin("alice", "k1", "fp"); r != nil || err != nil {
		t.Fatalf("first Begin = %v, %v", r, err)
	}
	if _, err := s.Begin("alice", "k1", "fp"); !errors.Is(err, ErrInFlight) {
		t.Fatalf("in flight: %v", err)
	}
	if _, err := s.Begin("alice", "k1", "other"); !errors.Is(err, ErrMismatch) {
		t.Fatalf("mismatch: %v", err)
	}
	s.Finish("alice", "k1", Response{Status: 201, Header: http.Header{"X": {"1"}}, Body: []byte("b")})
	r, err := s.Begin("alice", "k1", "fp")
	if err != nil || r == nil || r.Status != 201 || string(r.Body) != "b" || r.Header.Get("X") != "1" {
		t.Fatalf("replay = %+v, %v", r, err)
	}
	// Another subject's key is its own.
	if r, err := s.Begin("bob", "k1", "fp"); r != nil || err != nil {
		t.Fatalf("bob: %v, %v", r, err)
	}
	if _, err := s.Begin("carol", "k", "fp"); !errors.Is(err, ErrFull) {
		t.Fatalf("full: %v", err)
	}
	s.Release("bob", "k1")
	now = now.Add(2 * time.Hour) // everything expired
	if r, err := s.Begin("alice", "k1", "new"); r != nil || err != nil {
		t.Fatalf("after expiry: %v, %v", r, err)
	}
}
