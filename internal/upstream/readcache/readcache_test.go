package readcache

import (
	"context"
	"errors"
	"fmt"
	"github.com/partnerhub/gateway/internal/testclock"
	"sync/atomic"
	"testing"
	"time"
)

func newCache(t *testing.T, cfg Config) (*Cache[string], *testclock.Clock) {
	t.Helper()
	clk := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg.Now = clk.Now
	c, err := New[string](cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, clk
}

// loader returns value, or err when set, and counts its calls.
type loader struct {
	calls atomic.Int32
	value string
	err   error
}

func (l *loader) load(context.Context) (string, error) {
	l.calls.Add(1)
	return l.value, l.err
}

var errVendor = errors.New("vendor answered 503")

func TestFreshWithinTTLThenReload(t *testing.T) {
	t.Parallel()
	c, clk := newCache(t, Config{TTL: time.Second, MaxEntries: 10})
	l := &loader{value: "v1"}
	for range 3 {
		r, err := c.Get(t.Context(), "k", l.load)
		if err != nil || r.Value != "v1" || r.Stale {
			t.Fatalf("Get = %+v, %v", r, err)
		}
		clk.Advance(300 * time.Millisecond)
	}
	if n := l.calls.Load(); n != 1 {
		t.Fatalf("loaded %d times within the TTL, want 1", n)
	}
	clk.Advance(time.Second)
	l.value = "v2"
	if r, _ := c.Get(t.Context(), "k", l.load); r.Value != "v2" || l.calls.Load() != 2 {
		t.Errorf("after TTL got %q with %d loads, want v2 with 2", r.Value, l.calls.Load())
	}
}

func TestStaleIfError(t *testing.T) {
	t.Parallel()
	c, clk := newCache(t, Config{TTL: time.Second, MaxStale: 10 * time.Second, MaxEntries: 10})
	l := &loader{value: "good"}
	if _, err := c.Get(t.Context(), "k", l.load); err != nil {
		t.Fatal(err)
	}

	l.err = errVendor
	clk.Advance(5 * time.Second)
	r, err := c.Get(t.Context(), "k", l.load)
	if err != nil || !r.Stale || r.Value != "good" || !errors.Is(r.LoadErr, errVendor) || r.Age != 5*time.Second {
		t.Fatalf("Get = %+v, %v; want the last good answer, stale, 5s old", r, err)
	}

	clk.Advance(7 * time.Second) // 12s > TTL+MaxStale
	if r, err := c.Get(t.Context(), "k", l.load); !errors.Is(err, errVendor) || r.Stale {
		t.Fatalf("Get = %+v, %v; want the failure once the answer is too old", r, err)
	}
	if c.Len() != 0 {
		t.Errorf("an answer too old to serve is still held")
	}
}

func TestStaleOnlyForAllowedErrors(t *testing.T) {
	t.Parallel()
	errNotFound := errors.New("not found")
	c, clk := newCache(t, Config{TTL: time.Second, MaxStale: time.Minute, MaxEntries: 10,
		ServeStale: func(err error) bool { return !errors.Is(err, errNotFound) }})
	l := &loader{value: "good"}
	_, _ = c.Get(t.Context(), "k", l.load)
	clk.Advance(2 * time.Second)
	l.err = errNotFound
	if _, err := c.Get(t.Context(), "k", l.load); !errors.Is(err, errNotFound) {
		t.Errorf("err = %v: a record the vendor says is gone must not be served stale", err)
	}
}

func TestNoStaleWhenMaxStaleIsZero(t *testing.T) {
	t.Parallel()
	c, clk := newCache(t, Config{TTL: time.Second, MaxEntries: 10})
	l := &loader{value: "good"}
	_, _ = c.Get(t.Context(), "k", l.load)
	clk.Advance(2 * time.Second)
	l.err = errVendor
	if _, err := c.Get(t.Context(), "k", l.load); !errors.Is(err, errVendor) {
		t.Errorf("err = %v, want the vendor failure", err)
	}
}

// waitForWaiters blocks until the load of key runs and n callers have
// joined it (n = 0: the load has started).
func waitForWaiters(t *testing.T, c *Cache[string], key string, n int) {
	t.Helper()
	testclock.WaitFor(t, 2*time.Second, time.Millisecond, fmt.Sprintf("%d callers joining the load of %q", n, key), func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		f := c.calls[key]
		return f != nil && f.waiters >= n
	})
}

func TestConcurrentGetsShareOneLoad(t *testing.T) {
	t.Parallel()
	c, _ := newCache(t, Config{TTL: time.Second, MaxEntries: 10})
	release := make(chan struct{})
	var calls atomic.Int32
	load := func(context.Context) (string, error) {
		calls.Add(1)
		<-release
		return "v", nil
	}
	const n = 20
	results := make(chan Result[string], n)
	for range n {
		go func() {
			r, err := c.Get(t.Context(), "k", load)
			if err != nil {
				t.Error(err)
			}
			results <- r
		}()
	}
	waitForWaiters(t, c, "k", n-1)
	close(release)
	for range n {
		if r := <-results; r.Value != "v" {
			t.Errorf("got %q", r.Value)
		}
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("%d loads for %d identical concurrent reads, want 1", got, n)
	}
}

func TestLeaderLeavingDoesNotFailWaiters(t *testing.T) {
	t.Parallel()
	c, _ := newCache(t, Config{TTL: time.Second, MaxEntries: 10})
	var calls atomic.Int32
	load := func(ctx context.Context) (string, error) {
		if calls.Add(1) == 1 {
			<-ctx.Done() // the first caller hangs up mid-load
			return "", ctx.Err()
		}
		return "v", nil
	}
	leaderCtx, cancel := context.WithCancel(t.Context())
	leaderErr := make(chan error, 1)
	go func() {
		_, err := c.Get(leaderCtx, "k", load)
		leaderErr <- err
	}()
	// Wait for the leader's load to start, then join it.
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	waiter := make(chan Result[string], 1)
	go func() {
		r, err := c.Get(t.Context(), "k", load)
		if err != nil {
			t.Error(err)
		}
		waiter <- r
	}()
	waitForWaiters(t, c, "k", 1)
	cancel()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Errorf("leader err = %v, want context.Canceled", err)
	}
	if r := <-waiter; r.Value != "v" {
		t.Errorf("waiter got %+v, want a fresh load", r)
	}
}

func TestWaiterDeadlineServesStale(t *testing.T) {
	t.Parallel()
	c, clk := newCache(t, Config{TTL: time.Second, MaxStale: time.Minute, MaxEntries: 10})
	_, _ = c.Get(t.Context(), "k", (&loader{value: "old"}).load)
	clk.Advance(2 * time.Second)

	release := make(chan struct{})
	defer close(release)
	go func() {
		_, _ = c.Get(context.Background(), "k", func(context.Context) (string, error) {
			<-release // a hanging vendor
			return "", errVendor
		})
	}()
	waitForWaiters(t, c, "k", 0) // the load has started
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	r, err := c.Get(ctx, "k", (&loader{value: "unused"}).load)
	if err != nil || !r.Stale || r.Value != "old" || !errors.Is(r.LoadErr, context.DeadlineExceeded) {
		t.Errorf("Get = %+v, %v; want the stale answer when the budget runs out", r, err)
	}
}

func TestBoundedLRU(t *testing.T) {
	t.Parallel()
	c, _ := newCache(t, Config{TTL: time.Minute, MaxEntries: 2})
	l := &loader{value: "v"}
	_, _ = c.Get(t.Context(), "a", l.load)
	_, _ = c.Get(t.Context(), "b", l.load)
	_, _ = c.Get(t.Context(), "a", l.load) // a is now the most recent
	_, _ = c.Get(t.Context(), "c", l.load) // evicts b
	if c.Len() != 2 {
		t.Fatalf("Len = %d, want 2", c.Len())
	}
	before := l.calls.Load()
	_, _ = c.Get(t.Context(), "a", l.load)
	if l.calls.Load() != before {
		t.Errorf("a was evicted although recently used")
	}
	_, _ = c.Get(t.Context(), "b", l.load)
	if l.calls.Load() != before+1 {
		t.Errorf("b was not evicted")
	}
}

func TestDeleteDropsEntryAndRunningLoad(t *testing.T) {
	t.Parallel()
	c, _ := newCache(t, Config{TTL: time.Minute, MaxEntries: 10})
	release, started := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.Get(t.Context(), "k", func(context.Context) (string, error) {
			close(started)
			<-release
			return "before the write", nil
		})
	}()
	<-started
	c.Delete("k") // a write happened at the vendor meanwhile
	close(release)
	<-done
	r, err := c.Get(t.Context(), "k", (&loader{value: "after the write"}).load)
	if err != nil || r.Value != "after the write" {
		t.Errorf("Get = %+v, %v; a load that started before Delete was kept", r, err)
	}
}

func TestLoadPanicReleasesWaiters(t *testing.T) {
	t.Parallel()
	c, _ := newCache(t, Config{TTL: time.Minute, MaxEntries: 10})
	release := make(chan struct{})
	go func() {
		defer func() { _ = recover() }()
		_, _ = c.Get(t.Context(), "k", func(context.Context) (string, error) {
			<-release
			panic("boom")
		})
	}()
	waitForWaiters(t, c, "k", 0) // the load has started
	errc := make(chan error, 1)
	go func() {
		_, err := c.Get(t.Context(), "k", (&loader{value: "unused"}).load)
		errc <- err
	}()
	waitForWaiters(t, c, "k", 1)
	close(release)
	if err := <-errc; !errors.Is(err, ErrLoadPanicked) {
		t.Errorf("waiter err = %v, want ErrLoadPanicked", err)
	}
}

func TestKeyIsUnambiguous(t *testing.T) {
	t.Parallel()
	if Key("a:b", "c") == Key("a", "b:c") || Key("ab", "") == Key("a", "b") {
		t.Error("different parts give the same key")
	}
	if first, again := Key("tenant", "q"), Key("tenant", "q"); first != again {
		t.Error("Key is not deterministic")
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{{}, {TTL: time.Second}, {TTL: time.Second, MaxEntries: 1, MaxStale: -1}} {
		if _, err := New[int](cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}
