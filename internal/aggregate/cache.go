package aggregate

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/partnerhub/gateway/internal/auth"
	"github.com/partnerhub/gateway/internal/upstream"
	"github.com/partnerhub/gateway/internal/upstream/readcache"
)

// ReadCache keeps vendor reads for a short time, shares one vendor call
// among identical concurrent reads and, when the vendor is unhealthy,
// serves the last good answer (within MaxStale) instead of the failure.
// One ReadCache bounds the entries of every read wrapped with it.
//
// Entries are scoped by the caller's permission set: two callers whose
// roles grant different permissions never see each other's entries. A read
// made without an authenticated caller in its context is never cached.
//
// Cached values are shared between callers: whoever receives one must not
// modify it (clone a slice before changing its elements).
type ReadCache struct {
	c *readcache.Cache[any]
}

// NewReadCache returns a cache for vendor reads, or nil, meaning "do not
// cache", when cfg.TTL is 0. cfg.ServeStale defaults to upstream.Unhealthy:
// a stale answer may hide a vendor outage, never a definite answer such as
// "not found".
func NewReadCache(cfg readcache.Config) (*ReadCache, error) {
	if cfg.TTL == 0 {
		return nil, nil
	}
	if cfg.ServeStale == nil {
		cfg.ServeStale = upstream.Unhealthy
	}
	c, err := readcache.New[any](cfg)
	if err != nil {
		return nil, err
	}
	return &ReadCache{c: c}, nil
}

// Len is the number of cached entries (stale ones included).
func (rc *ReadCache) Len() int {
	if rc == nil {
		return 0
	}
	return rc.c.Len()
}

// Cached wraps a vendor read that takes no arguments. name identifies the
// read (e.g. "gdap.customers"); reads wrapped under the same name and
// result type share entries, so wrapping one vendor call once and using it
// from several services makes them share its answers. A nil rc returns fn.
//
// A read called through this package's services (the customer and tenant
// services, One) reports a stale answer in its Source: the vendor's real
// status now (error, timeout, unavailable), stale true and the answer's
// age; called elsewhere, a stale value is returned like a fresh one.
func Cached[T any](rc *ReadCache, name string, fn func(context.Context) (T, error)) func(context.Context) (T, error) {
	if rc == nil {
		return fn
	}
	return func(ctx context.Context) (T, error) {
		return get(ctx, rc, name, "", fn)
	}
}

// CachedBy wraps a vendor read with one argument. key renders the argument
// into the cache key and must tell apart every two arguments that can give
// different answers; nil uses the argument's Go syntax (%#v), which does
// for strings, numbers and structs of them, not for pointers.
func CachedBy[A, T any](rc *ReadCache, name string, key func(A) string, fn func(context.Context, A) (T, error)) func(context.Context, A) (T, error) {
	if rc == nil {
		return fn
	}
	if key == nil {
		key = func(a A) string { return fmt.Sprintf("%#v", a) }
	}
	return func(ctx context.Context, a A) (T, error) {
		return get(ctx, rc, name, key(a), func(ctx context.Context) (T, error) { return fn(ctx, a) })
	}
}

func get[T any](ctx context.Context, rc *ReadCache, name, arg string, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	scope, ok := permissionScope(ctx)
	if !ok {
		return fn(ctx)
	}
	// The result type is part of the key, so a value read back always has
	// the type its read returns, whatever names other reads use.
	key := readcache.Key(name, reflect.TypeFor[T]().String(), scope, arg)
	res, err := rc.c.Get(ctx, key, func(ctx context.Context) (any, error) { return fn(ctx) })
	if err != nil {
		return zero, err
	}
	v, ok := res.Value.(T)
	if !ok {
		return zero, fmt.Errorf("read cache %s: entry holds %T, not %T", name, res.Value, zero)
	}
	if res.Stale {
		noteStale(ctx, res.Age, res.LoadErr)
	}
	return v, nil
}

// permissionScope is the cache scope of the caller in ctx: its sorted,
// de-duplicated permissions. The vendors answer the gateway, not the
// caller, so callers with the same permissions may share answers.
func permissionScope(ctx context.Context) (string, bool) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return "", false
	}
	perms := slices.Compact(slices.Sorted(slices.Values(p.Permissions)))
	return readcache.Key(perms...), true
}

// readNote carries what a cached read learnt back to the code that turns
// the call into a Source, through the call's context, so wrapped reads keep
// the plain func(ctx) (T, error) shape.
type readNote struct {
	mu    sync.Mutex
	stale bool
	age   time.Duration
	err   error
}

type readNoteKey struct{}

func withReadNote(ctx context.Context) (context.Context, *readNote) {
	n := &readNote{}
	return context.WithValue(ctx, readNoteKey{}, n), n
}

// noteStale records that a read in ctx's call was answered from cache; a
// call made of several reads reports the oldest.
func noteStale(ctx context.Context, age time.Duration, err error) {
	n, ok := ctx.Value(readNoteKey{}).(*readNote)
	if !ok {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.stale || age > n.age {
		n.stale, n.age, n.err = true, age, err
	}
}

// mark sets src stale when the call succeeded on a stale read: its status
// becomes the vendor's failure, so an outage is never reported as ok, and
// the detail says why and how old the served answer is.
func (n *readNote) mark(src *Source) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.stale || src.Status != upstream.StatusOK {
		return
	}
	age := n.age.Round(time.Second)
	if n.age < time.Second {
		age = n.age.Round(time.Millisecond)
	}
	ms := n.age.Milliseconds()
	src.Stale, src.AgeMS = true, ms
	if src.Status = upstream.SourceStatus(n.err); src.Status == upstream.StatusOK {
		src.Status = upstream.StatusError // a stale answer always stands in for a failure
	}
	src.Detail = fmt.Sprintf("vendor failing (%s); serving its last good answer, %s old", upstream.Detail(n.err), age)
}

// timed runs one vendor call and describes it as a Source, stale when a
// cached read inside it stood in for a failing vendor.
func timed[T any](ctx context.Context, vendor string, fn func(context.Context) (T, error)) (T, Source, error) {
	ctx, note := withReadNote(ctx)
	start := time.Now()
	v, err := fn(ctx)
	src := sourceOf(vendor, err, time.Since(start))
	note.mark(&src)
	return v, src, err
}
