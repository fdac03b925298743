package simfault

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func jsonError(status int) (string, []byte) {
	return "application/json", []byte(`{"error":"injected"}`)
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
})

func TestEveryNthFlaps(t *testing.T) {
	t.Parallel()
	in := New(jsonError)
	in.Set(Fault{Status: http.StatusServiceUnavailable, RetryAfterSeconds: 2, EveryNth: 3})
	h := in.Middleware(okHandler)

	var got []int
	for range 6 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/items", nil))
		got = append(got, rec.Code)
		if rec.Code == http.StatusServiceUnavailable && rec.Header().Get("Retry-After") != "2" {
			t.Errorf("faulted answer without Retry-After: %v", rec.Header())
		}
	}
	want := []int{200, 200, 503, 200, 200, 503}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses = %v, want %v", got, want)
		}
	}
	if n := in.Calls(http.MethodGet, "/api/items"); n != 6 {
		t.Errorf("Calls = %d, want 6 (faulted or not)", n)
	}

	// Set restarts the count, so a test's first matching calls are known.
	in.Set(Fault{Status: http.StatusBadGateway, EveryNth: 2})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/items", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("first call after Set = %d, want 200", rec.Code)
	}
}

func TestHangEndsWhenClientGivesUp(t *testing.T) {
	t.Parallel()
	in := New(jsonError)
	in.Set(Fault{Hang: true})
	returned := make(chan struct{}, 1)
	mw := in.Middleware(okHandler)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mw.ServeHTTP(w, r)
		returned <- struct{}{}
	}))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/items", nil)
	resp, err := srv.Client().Do(req)
	if err == nil {
		_ = resp.Body.Close()
		t.Fatal("a hanging simulator answered")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the client's deadline", err)
	}
	select {
	case <-returned:
	case <-time.After(2 * time.Second):
		t.Fatal("the hang outlived the client: the simulator handler is still running")
	}
}

func TestPathContainsLimitsTheFault(t *testing.T) {
	t.Parallel()
	in := New(jsonError)
	in.Set(Fault{Status: http.StatusInternalServerError, PathContains: "oauth2"})
	h := in.Middleware(okHandler)
	for path, want := range map[string]int{"/oauth2/token": 500, "/api/items": 200} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, nil))
		if rec.Code != want {
			t.Errorf("%s: status %d, want %d", path, rec.Code, want)
		}
	}
}
