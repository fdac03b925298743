// Package readcache keeps vendor reads for a short time, coalesces identical
// concurrent reads into one vendor call, and serves the last good answer,
// marked stale, when the vendor fails.
//
// The cache knows nothing about callers: a key must carry everything that
// decides what a caller may see (tenant, subject or permission scope, and
// the query), or answers leak between callers. Build keys with Key.
package readcache

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config tunes one Cache.
type Config struct {
	// TTL is how long a good answer is served without asking the vendor.
	TTL time.Duration
	// MaxStale is how long past TTL a good answer may still be served when
	// loading fails (stale-if-error). 0 turns stale answers off.
	MaxStale time.Duration
	// MaxEntries bounds the cache; the least recently used entry goes first.
	MaxEntries int
	// ServeStale decides which load failures a stale answer may hide. nil
	// means every failure except a cancelled caller, who is gone anyway.
	ServeStale func(error) bool
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// Metrics, when set, counts lookups and entries under the label
	// cache=Name.
	Metrics *Metrics
	Name    string
}

// Result is a cached or freshly loaded value.
type Result[T any] struct {
	Value T
	// Stale is set when Value is an earlier good answer served because
	// loading failed; LoadErr is then that failure, for logs and for the
	// source's detail.
	Stale   bool
	LoadErr error
	// Age is the time since Value was loaded.
	Age time.Duration
}

// ErrLoadPanicked is what callers waiting on a load get when it panicked;
// the panic itself goes on in the caller that ran the load.
var ErrLoadPanicked = errors.New("readcache: load panicked")

// Cache is a bounded TTL cache with request coalescing and
// stale-if-error. It is safe for concurrent use.
type Cache[T any] struct {
	cfg Config

	mu      sync.Mutex
	entries map[string]*entry[T]
	lru     list.List // of *entry[T], most recently used at the front
	calls   map[string]*flight[T]
}

type entry[T any] struct {
	key    string
	val    T
	loaded time.Time
	elem   *list.Element
}

// flight is one load in progress; its fields are written by the loading
// caller before done is closed and only read after.
type flight[T any] struct {
	done       chan struct{}
	val        T
	err        error
	loaded     time.Time
	leaderGone bool // the loading caller's context ended during the load
	waiters    int  // callers coalesced onto this load (guarded by Cache.mu)
	forgotten  bool // Delete ran during the load: do not store its value (Cache.mu)
}

// New returns an empty cache.
func New[T any](cfg Config) (*Cache[T], error) {
	var errs []error
	if cfg.TTL <= 0 {
		errs = append(errs, errors.New("TTL must be positive"))
	}
	if cfg.MaxStale < 0 {
		errs = append(errs, errors.New("MaxStale must not be negative"))
	}
	if cfg.MaxEntries <= 0 {
		errs = append(errs, errors.New("MaxEntries must be positive"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("readcache: %w", errors.Join(errs...))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ServeStale == nil {
		cfg.ServeStale = func(err error) bool { return !errors.Is(err, context.Canceled) }
	}
	return &Cache[T]{cfg: cfg, entries: map[string]*entry[T]{}, calls: map[string]*flight[T]{}}, nil
}

// Get returns the fresh cached value for key, or loads it. Concurrent Gets
// of a key share one load, run by the first caller with its context; if
// that caller leaves mid-load, the others load again rather than inherit
// its cancellation. When loading fails (or the caller's deadline passes
// while it waits), an answer at most TTL+MaxStale old is returned with
// Stale set and a nil error; otherwise the failure is returned.
func (c *Cache[T]) Get(ctx context.Context, key string, load func(context.Context) (T, error)) (Result[T], error) {
	for {
		c.mu.Lock()
		now := c.cfg.Now()
		if e, ok := c.entries[key]; ok && now.Sub(e.loaded) < c.cfg.TTL {
			c.lru.MoveToFront(e.elem)
			c.mu.Unlock()
			c.count(lookupHit)
			return Result[T]{Value: e.val, Age: now.Sub(e.loaded)}, nil
		}
		f, joined := c.calls[key]
		if joined {
			f.waiters++
		} else {
			f = &flight[T]{done: make(chan struct{})}
			c.calls[key] = f
		}
		c.mu.Unlock()

		if !joined {
			c.lead(ctx, key, f, load)
		} else {
			select {
			case <-f.done:
			case <-ctx.Done():
				return c.fallback(key, ctx.Err())
			}
		}
		if f.err == nil {
			if joined {
				c.count(lookupCoalesced)
			} else {
				c.count(lookupMiss)
			}
			return Result[T]{Value: f.val, Age: c.cfg.Now().Sub(f.loaded)}, nil
		}
		if joined && f.leaderGone && ctx.Err() == nil {
			continue // the failure was the loading caller leaving, not the vendor
		}
		return c.fallback(key, f.err)
	}
}

// lead runs load for f and publishes the outcome, even if load panics.
func (c *Cache[T]) lead(ctx context.Context, key string, f *flight[T], load func(context.Context) (T, error)) {
	finished := false
	defer func() {
		if !finished {
			f.err = ErrLoadPanicked
		}
		c.mu.Lock()
		if c.calls[key] == f {
			delete(c.calls, key)
		}
		if f.err == nil && !f.forgotten {
			c.store(key, f.val, f.loaded)
		}
		c.mu.Unlock()
		close(f.done)
	}()
	f.val, f.err = load(ctx)
	f.loaded = c.cfg.Now()
	f.leaderGone = ctx.Err() != nil
	finished = true
}

// fallback returns a stale answer for key if err allows one and it is not
// too old, else err.
func (c *Cache[T]) fallback(key string, err error) (Result[T], error) {
	res, err := c.stale(key, err)
	if res.Stale {
		c.count(lookupStale)
	} else {
		c.count(lookupError)
	}
	return res, err
}

func (c *Cache[T]) stale(key string, err error) (Result[T], error) {
	if c.cfg.MaxStale <= 0 || !c.cfg.ServeStale(err) {
		return Result[T]{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return Result[T]{}, err
	}
	age := c.cfg.Now().Sub(e.loaded)
	if age > c.cfg.TTL+c.cfg.MaxStale {
		c.remove(e) // too old to ever serve again
		return Result[T]{}, err
	}
	return Result[T]{Value: e.val, Stale: true, LoadErr: err, Age: age}, nil
}

// store adds or refreshes key and evicts beyond MaxEntries. c.mu is held.
func (c *Cache[T]) store(key string, val T, loaded time.Time) {
	if e, ok := c.entries[key]; ok {
		e.val, e.loaded = val, loaded
		c.lru.MoveToFront(e.elem)
		return
	}
	e := &entry[T]{key: key, val: val, loaded: loaded}
	e.elem = c.lru.PushFront(e)
	c.entries[key] = e
	for c.lru.Len() > c.cfg.MaxEntries {
		c.remove(c.lru.Back().Value.(*entry[T]))
	}
	c.setEntries()
}

func (c *Cache[T]) remove(e *entry[T]) {
	c.lru.Remove(e.elem)
	delete(c.entries, e.key)
	c.setEntries()
}

// Delete drops key, for callers that just changed the vendor's data. A
// load already running for key finishes for its callers but is not kept.
func (c *Cache[T]) Delete(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		c.remove(e)
	}
	if f, ok := c.calls[key]; ok {
		f.forgotten = true
		delete(c.calls, key)
	}
}

// Len is the number of cached entries, stale ones included.
func (c *Cache[T]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Key builds an unambiguous key from parts: ("a:b", "c") and ("a", "b:c")
// give different keys, so a crafted query cannot reach another scope's
// entry.
func Key(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(strconv.Itoa(len(p)))
		b.WriteByte(':')
		b.WriteString(p)
	}
	return b.String()
}
