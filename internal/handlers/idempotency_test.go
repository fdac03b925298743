package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/store"
	"github.com/partnerhub/gateway/internal/upstream"
)

// keyStub is an IdempotencyStore in memory: "busy" is always in flight.
type keyStub struct {
	mu                 sync.Mutex
	finished, released []string
}

func (k *keyStub) BeginIdempotent(_ context.Context, _, key, _ string) (*store.StoredResponse, string, error) {
	if key == "busy" {
		return nil, "", store.ErrKeyInFlight
	}
	return nil, "owner", nil
}

func (k *keyStub) FinishIdempotent(_ context.Context, _, key, _ string, _ store.StoredResponse) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.finished = append(k.finished, key)
	return nil
}

func (k *keyStub) ReleaseIdempotent(_ context.Context, _, key, _ string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.released = append(k.released, key)
	return nil
}

func idempotentPost(t *testing.T, keys *keyStub, key string, answer error) *httptest.ResponseRecorder {
	t.Helper()
	h := idempotent(keys, slog.New(slog.DiscardHandler))(handle(func(http.ResponseWriter, *http.Request) error { return answer }))
	r := httptest.NewRequest(http.MethodPost, "/v1/licenses", strings.NewReader(`{}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(IdempotencyHeader, key)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// TestIdempotencyKeyInUse: a retry while the first request runs is told
// when to come back.
func TestIdempotencyKeyInUse(t *testing.T) {
	rec := idempotentPost(t, &keyStub{}, "busy", nil)
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "idempotency-key-in-use") {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
}

// TestIdempotencyForgetsWhatTheVendorDidNotDo: the handler's error reaches
// the middleware explicitly; after a vendor's 429 (502 to the caller) the
// key is freed so the same key retries, while a vendor's verdict is kept.
func TestIdempotencyForgetsWhatTheVendorDidNotDo(t *testing.T) {
	keys := &keyStub{}
	if rec := idempotentPost(t, keys, "slow-down", tooMany(model.VendorDBSync)); rec.Code != http.StatusBadGateway {
		t.Fatalf("vendor 429: status %d", rec.Code)
	}
	rejected := &upstream.Error{Vendor: model.VendorDBSync, Op: "register", Status: 200, Err: upstream.ErrRejected}
	if rec := idempotentPost(t, keys, "verdict", rejected); rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("vendor verdict: status %d", rec.Code)
	}
	if strings.Join(keys.released, ",") != "slow-down" || strings.Join(keys.finished, ",") != "verdict" {
		t.Errorf("released %v, finished %v; want [slow-down], [verdict]", keys.released, keys.finished)
	}
}
