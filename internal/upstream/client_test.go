package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
)

// testBreaker trips after three calls that all failed and stays open for the
// whole test.
var testBreaker = BreakerConfig{MinRequests: 3, FailureRatio: 1, Window: time.Minute, OpenFor: time.Minute, HalfOpenProbes: 1}

// newTestClient builds a client on a fresh registry; zero cfg fields get
// test defaults (vendor "test", 1 s timeout, fast backoff).
func newTestClient(t *testing.T, cfg Config) (*Client, *prometheus.Registry) {
	t.Helper()
	if cfg.Vendor == "" {
		cfg.Vendor = "test"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Second
	}
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase = time.Millisecond
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = 5 * time.Millisecond
	}
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(cfg, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.http.CloseIdleConnections)
	return c, reg
}

// counter reads one counter sample from the exposition, 0 when absent.
func counter(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

var probeLabels = map[string]string{"vendor": "test", "operation": "probe"}

// hits counts requests to a test server; its handler answers with the
// status of the n-th call from statuses (the last one repeats), and a
// Retry-After when retryAfter is set.
type hits struct {
	mu    sync.Mutex
	times []time.Time
	n     atomic.Int32
}

func (h *hits) record() int {
	h.mu.Lock()
	h.times = append(h.times, time.Now())
	h.mu.Unlock()
	return int(h.n.Add(1))
}

func statusServer(t *testing.T, retryAfter string, statuses ...int) (*httptest.Server, *hits) {
	t.Helper()
	h := &hits{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := h.record()
		s := statuses[min(n, len(statuses))-1]
		if s != http.StatusOK && retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(s)
		_, _ = fmt.Fprint(w, `{"ok":true}`)
	}))
	t.Cleanup(srv.Close)
	return srv, h
}

// hangServer never answers; each handler returns once the client gives up.
func hangServer(t *testing.T) (*httptest.Server, *hits) {
	t.Helper()
	h := &hits{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.record()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv, h
}

// call sends method to url through c the way vendor packages do: a non-2xx
// answer becomes an *Error with the status.
func call(ctx context.Context, c *Client, method, url, body string, idempotent bool) error {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return err
	}
	return c.Do(ctx, Call{Op: "probe", Request: req, Idempotent: idempotent, Handle: func(resp *http.Response) error {
		if resp.StatusCode/100 != 2 {
			return &Error{Status: resp.StatusCode, Message: string(ReadErrorBody(resp.Body))}
		}
		_, err := io.Copy(io.Discard, resp.Body)
		return err
	}})
}

func get(ctx context.Context, c *Client, url string) error {
	return call(ctx, c, http.MethodGet, url, "", true)
}

func TestBreakerCountsVendorFaultsOnly(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close() // nothing listens: connection refused

	for _, tc := range []struct {
		name   string
		url    func(t *testing.T) string
		cancel bool // the caller gives up mid-call
		want   string
	}{
		{"500", func(t *testing.T) string { s, _ := statusServer(t, "", 500); return s.URL }, false, "open"},
		{"503", func(t *testing.T) string { s, _ := statusServer(t, "", 503); return s.URL }, false, "open"},
		{"429", func(t *testing.T) string { s, _ := statusServer(t, "", 429); return s.URL }, false, "open"},
		{"attempt timeout", func(t *testing.T) string { s, _ := hangServer(t); return s.URL }, false, "open"},
		{"connection refused", func(*testing.T) string { return closedURL }, false, "open"},
		{"400", func(t *testing.T) string { s, _ := statusServer(t, "", 400); return s.URL }, false, "closed"},
		{"404", func(t *testing.T) string { s, _ := statusServer(t, "", 404); return s.URL }, false, "closed"},
		{"409", func(t *testing.T) string { s, _ := statusServer(t, "", 409); return s.URL }, false, "closed"},
		{"cancelled caller", func(t *testing.T) string { s, _ := hangServer(t); return s.URL }, true, "closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Retries off: this test is about what one logical call counts.
			c, _ := newTestClient(t, Config{Timeout: 50 * time.Millisecond, MaxAttempts: 1, Breaker: testBreaker})
			url := tc.url(t)
			for range testBreaker.MinRequests {
				ctx, cancel := context.WithCancel(t.Context())
				if tc.cancel {
					time.AfterFunc(10*time.Millisecond, cancel)
				}
				err := get(ctx, c, url)
				cancel()
				if err == nil {
					t.Fatal("call succeeded")
				}
				if tc.cancel && !errors.Is(err, context.Canceled) {
					t.Fatalf("err = %v, want context.Canceled", err)
				}
			}
			if got := c.BreakerState(); got != tc.want {
				t.Errorf("after %d calls breaker is %s, want %s", testBreaker.MinRequests, got, tc.want)
			}
		})
	}
}

func TestBreakerOpenFailsFastWithoutCallingVendor(t *testing.T) {
	t.Parallel()
	srv, h := statusServer(t, "", 500)
	c, _ := newTestClient(t, Config{MaxAttempts: 1, Breaker: testBreaker})
	for range testBreaker.MinRequests {
		_ = get(t.Context(), c, srv.URL)
	}
	if c.BreakerState() != "open" {
		t.Fatalf("breaker is %s after sustained failure", c.BreakerState())
	}
	before := h.n.Load()

	for range 200 {
		err := get(t.Context(), c, srv.URL)
		// The breaker's own error stays visible through the typed error.
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, gobreaker.ErrOpenState) || SourceStatus(err) != StatusUnavailable {
			t.Fatalf("err = %v, want ErrUnavailable wrapping gobreaker.ErrOpenState", err)
		}
	}
	if got := h.n.Load(); got != before {
		t.Errorf("vendor called %d times while the breaker was open", got-before)
	}
}

func TestBulkheadRejectsAtOnceBeyondCap(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	}))
	t.Cleanup(srv.Close)
	c, _ := newTestClient(t, Config{MaxConcurrent: 1})

	first := make(chan error, 1)
	go func() { first <- get(t.Context(), c, srv.URL) }()
	<-arrived

	start := time.Now()
	err := get(t.Context(), c, srv.URL)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("second call: err = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("rejection took %v; it must not queue", d)
	}
	if got := Detail(err); got != "circuit open or vendor at capacity; not called" {
		t.Errorf("Detail = %q", got)
	}
	close(release)
	if err := <-first; err != nil {
		t.Errorf("first call: %v", err)
	}
	if c.BreakerState() != "closed" {
		t.Errorf("a rejection by the bulkhead reached the breaker")
	}
}

func TestRetriedReadSucceedsOnSecondAttempt(t *testing.T) {
	t.Parallel()
	for _, status := range []int{429, 502, 503, 504} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			srv, h := statusServer(t, "", status, 200)
			c, reg := newTestClient(t, Config{})
			if err := get(t.Context(), c, srv.URL); err != nil {
				t.Fatalf("err = %v, want success on the second attempt", err)
			}
			if got := h.n.Load(); got != 2 {
				t.Errorf("vendor saw %d calls, want 2", got)
			}
			if got := counter(t, reg, "gateway_upstream_retries_total", probeLabels); got != 1 {
				t.Errorf("gateway_upstream_retries_total = %v, want 1", got)
			}
			ok := map[string]string{"vendor": "test", "operation": "probe", "outcome": "ok"}
			if got := counter(t, reg, "gateway_upstream_requests_total", ok); got != 1 {
				t.Errorf("requests{outcome=ok} = %v, want 1: one logical call", got)
			}
		})
	}
}

func TestRetryReplaysBody(t *testing.T) {
	t.Parallel()
	var bodies []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		bodies = append(bodies, string(b))
		if len(bodies) == 1 {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	t.Cleanup(srv.Close)
	c, _ := newTestClient(t, Config{})
	// A read-only POST, like DBSync's licenseDetails.
	if err := call(t.Context(), c, http.MethodPost, srv.URL, `{"q":1}`, true); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 || bodies[0] != `{"q":1}` || bodies[1] != `{"q":1}` {
		t.Errorf("bodies = %q, want the same body twice", bodies)
	}
}

func TestRetryAfterConnectionReset(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close() // no answer at all
			}
			return
		}
	}))
	t.Cleanup(srv.Close)
	c, _ := newTestClient(t, Config{})
	if err := get(t.Context(), c, srv.URL); err != nil {
		t.Fatalf("err = %v, want success after a dropped connection", err)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("vendor saw %d calls, want 2", got)
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	srv, h := statusServer(t, "1", 503, 200)
	// Backoff alone would wait at most 5ms; Retry-After asks for 1s.
	c, _ := newTestClient(t, Config{Timeout: 2 * time.Second})
	if err := get(t.Context(), c, srv.URL); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.times) != 2 {
		t.Fatalf("vendor saw %d calls, want 2", len(h.times))
	}
	if gap := h.times[1].Sub(h.times[0]); gap < 950*time.Millisecond {
		t.Errorf("retried after %v, want the 1s the vendor asked for", gap)
	}
}

func TestRetryAfterBeyondDeadlineGivesUpAtOnce(t *testing.T) {
	t.Parallel()
	srv, h := statusServer(t, "1", 503, 200)
	c, _ := newTestClient(t, Config{Timeout: 2 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := get(ctx, c, srv.URL)
	var e *Error
	if !errors.As(err, &e) || e.Status != 503 || e.RetryAfter != time.Second {
		t.Fatalf("err = %#v, want the vendor's 503 with its Retry-After", err)
	}
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("gave up after %v; it should not wait for a retry that cannot fit", d)
	}
	if got := h.n.Load(); got != 1 {
		t.Errorf("vendor saw %d calls, want 1", got)
	}
}

func TestNoRetryOnceBreakerOpens(t *testing.T) {
	t.Parallel()
	var reads, writes atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			reads.Add(1)
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		writes.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	// Trips when half of at least two calls failed.
	c, _ := newTestClient(t, Config{Timeout: 2 * time.Second, Breaker: BreakerConfig{
		MinRequests: 2, FailureRatio: 0.5, Window: time.Minute, OpenFor: time.Minute, HalfOpenProbes: 1}})

	readErr := make(chan error, 1)
	go func() { readErr <- get(t.Context(), c, srv.URL) }()
	for reads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	// While the read waits out Retry-After, a failing write trips the breaker.
	_ = call(t.Context(), c, http.MethodPost, srv.URL, "", false)
	if c.BreakerState() != "open" {
		t.Fatalf("breaker is %s, want open", c.BreakerState())
	}
	var e *Error
	if err := <-readErr; !errors.As(err, &e) || e.Status != 503 {
		t.Fatalf("read err = %v, want its 503", err)
	}
	if n := reads.Load(); n != 1 {
		t.Errorf("the read was retried %d times into an open breaker", n-1)
	}
}

func TestNonIdempotentCallIsSentOnce(t *testing.T) {
	t.Parallel()
	srv, h := statusServer(t, "", 503, 200)
	c, reg := newTestClient(t, Config{})
	err := call(t.Context(), c, http.MethodPost, srv.URL, `{"start":true}`, false)
	var e *Error
	if !errors.As(err, &e) || e.Status != 503 {
		t.Fatalf("err = %v, want the vendor's 503", err)
	}
	if got := h.n.Load(); got != 1 {
		t.Errorf("a state-changing call reached the vendor %d times", got)
	}
	if got := counter(t, reg, "gateway_upstream_retries_total", probeLabels); got != 0 {
		t.Errorf("retries = %v, want 0", got)
	}
}

func TestRetriesStopAtCallerDeadline(t *testing.T) {
	t.Parallel()
	t.Run("failing vendor", func(t *testing.T) {
		t.Parallel()
		srv, h := statusServer(t, "", 503)
		c, _ := newTestClient(t, Config{MaxAttempts: 100, BackoffBase: 20 * time.Millisecond, BackoffMax: 20 * time.Millisecond})
		ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
		defer cancel()
		err := get(ctx, c, srv.URL)
		var e *Error
		// The last vendor answer, not a deadline: the loop gives up before
		// sleeping past the caller's deadline.
		if !errors.As(err, &e) || e.Status != 503 {
			t.Fatalf("err = %v, want the vendor's 503", err)
		}
		if ctx.Err() != nil {
			t.Errorf("returned after the caller's deadline")
		}
		if n := h.n.Load(); n < 2 || n >= 100 {
			t.Errorf("vendor saw %d calls, want a few retries within the deadline", n)
		}
	})
	t.Run("hanging vendor", func(t *testing.T) {
		t.Parallel()
		srv, h := hangServer(t)
		c, _ := newTestClient(t, Config{Timeout: 100 * time.Millisecond})
		// After one timed-out attempt 50ms are left: not room for another.
		ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
		defer cancel()
		err := get(ctx, c, srv.URL)
		if !errors.Is(err, context.DeadlineExceeded) || SourceStatus(err) != StatusTimeout {
			t.Fatalf("err = %v, want a timeout", err)
		}
		if n := h.n.Load(); n != 1 {
			t.Errorf("vendor saw %d calls, want 1", n)
		}
	})
	t.Run("hanging vendor is not retried even with room", func(t *testing.T) {
		t.Parallel()
		srv, h := hangServer(t)
		c, _ := newTestClient(t, Config{Timeout: 50 * time.Millisecond})
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := get(ctx, c, srv.URL); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want a timeout", err)
		}
		if n := h.n.Load(); n != 1 {
			t.Errorf("vendor saw %d calls; a timed-out attempt must not be retried", n)
		}
	})
	t.Run("caller cancels during backoff", func(t *testing.T) {
		t.Parallel()
		srv, _ := statusServer(t, "", 503)
		c, _ := newTestClient(t, Config{BackoffBase: time.Second, BackoffMax: time.Second})
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(20*time.Millisecond, cancel)
		// Full jitter may pick a tiny wait; loop until one lands in a sleep.
		var err error
		for range 20 {
			if err = get(ctx, c, srv.URL); errors.Is(err, context.Canceled) {
				break
			}
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

func TestBackoffIsBoundedFullJitter(t *testing.T) {
	t.Parallel()
	p := retryPolicy{attempts: 3, base: 50 * time.Millisecond, max: time.Second}
	for n, ceil := range map[int]time.Duration{1: 50 * time.Millisecond, 2: 100 * time.Millisecond, 5: 800 * time.Millisecond, 6: time.Second, 60: time.Second} {
		for range 100 {
			if d := p.backoff(n); d < 0 || d > ceil {
				t.Fatalf("backoff(%d) = %v, want within [0, %v]", n, d, ceil)
			}
		}
	}
}

func TestNewRejectsBadRetrySettings(t *testing.T) {
	t.Parallel()
	m, _ := NewMetrics(prometheus.NewRegistry())
	for _, cfg := range []Config{
		{Vendor: "v", Timeout: time.Second, MaxAttempts: -1},
		{Vendor: "v", Timeout: time.Second, BackoffBase: time.Second, BackoffMax: time.Millisecond},
	} {
		if _, err := New(cfg, m, nil); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

func TestSourceStatusAndDetail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		err    error
		status string
		detail string
	}{
		{"ok", nil, StatusOK, ""},
		{"breaker open", &Error{Vendor: "v", Op: "o", Err: fmt.Errorf("%w: circuit breaker is open", ErrUnavailable)}, StatusUnavailable, "circuit open or vendor at capacity; not called"},
		{"attempt timeout", &Error{Vendor: "v", Op: "o", Err: context.DeadlineExceeded}, StatusTimeout, "no answer within the time budget"},
		{"bare deadline", context.DeadlineExceeded, StatusTimeout, "deadline exceeded"},
		{"connection", &Error{Vendor: "v", Op: "o", Err: errors.New("dial tcp: connection refused")}, StatusError, "connection failed"},
		{"5xx with message", &Error{Status: 503, Message: "maintenance"}, StatusError, "vendor answered 503: maintenance"},
		{"malformed", &Error{Status: 200, Err: ErrMalformed}, StatusError, "vendor answered 200: malformed response"},
		{"long message", &Error{Status: 500, Message: strings.Repeat("x", 300)}, StatusError, "vendor answered 500: " + strings.Repeat("x", 200) + "…"},
		{"not an *Error", errors.New("boom"), StatusError, "vendor call failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SourceStatus(tc.err); got != tc.status {
				t.Errorf("SourceStatus = %q, want %q", got, tc.status)
			}
			if tc.err == nil {
				return
			}
			if got := Detail(tc.err); got != tc.detail {
				t.Errorf("Detail = %q, want %q", got, tc.detail)
			}
		})
	}
}

// BenchmarkOpenBreaker measures what a call costs while the vendor's breaker
// is open (the "well under a millisecond"):
//
//	go test -run '^$' -bench OpenBreaker ./internal/upstream/
func BenchmarkOpenBreaker(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	m, _ := NewMetrics(prometheus.NewRegistry())
	c, err := New(Config{Vendor: "bench", Timeout: time.Second, MaxAttempts: 1, Breaker: testBreaker}, m, nil)
	if err != nil {
		b.Fatal(err)
	}
	for range testBreaker.MinRequests {
		_ = get(context.Background(), c, srv.URL)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := get(context.Background(), c, srv.URL); !errors.Is(err, ErrUnavailable) {
			b.Fatal(err)
		}
	}
}

// A vendor that sends its headers and then drips the body slower than the
// attempt's timeout is slow, not malformed: the decode error the cut-off
// body causes must not hide the timeout, even when the vendor package
// wraps it with the response's status as vendor packages do.
func TestBodyCutOffByTimeoutIsATimeout(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprint(w, `{"items": [`)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	c, _ := newTestClient(t, Config{Timeout: 100 * time.Millisecond})
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	err := c.Do(t.Context(), Call{Op: "probe", Request: req, Idempotent: true, Handle: func(resp *http.Response) error {
		var v any
		if err := DecodeJSON(resp.Body, &v); err != nil {
			return &Error{Status: resp.StatusCode, Err: err}
		}
		return nil
	}})
	if !errors.Is(err, context.DeadlineExceeded) || SourceStatus(err) != StatusTimeout {
		t.Fatalf("err = %v (source status %q), want a timeout", err, SourceStatus(err))
	}
	if d := Detail(err); d != "no answer within the time budget" {
		t.Errorf("detail %q", d)
	}
}
