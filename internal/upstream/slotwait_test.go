package upstream

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// A call that finds every slot taken by a healthy call waits for one to
// free up instead of failing at once.
func TestBulkheadWaitsBrieflyForAFreeSlot(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}, 2), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		if r.URL.Query().Get("hold") != "" {
			<-release
		}
	}))
	t.Cleanup(srv.Close)
	c, _ := newTestClient(t, Config{MaxConcurrent: 1})

	first := make(chan error, 1)
	go func() { first <- get(t.Context(), c, srv.URL+"?hold=1") }()
	<-arrived
	second := make(chan error, 1)
	go func() { second <- get(t.Context(), c, srv.URL) }()
	time.Sleep(100 * time.Millisecond) // the second call is now waiting for the slot
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first call: %v", err)
	}
	if err := <-second; err != nil {
		t.Fatalf("second call failed instead of taking the freed slot: %v", err)
	}
}
