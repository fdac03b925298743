package aggregate

import (
	"context"
	"fmt"
	"reflect"
	"slices"
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

// Freshness says how old a read's answer is. The zero value is an answer
// read from the vendor for this call.
type Freshness struct {
	// Age is the time since the answer was read from the vendor: 0 for a
	// read made now, more for an answer served from the read cache.
	Age time.Duration
	// Stale says the answer is the vendor's last good one, served because
	// the vendor failed now; Cause is that failure.
	Stale bool
	Cause error
}

// Read is a vendor read that says how fresh its answer is; see Cached.
type Read[T any] func(context.Context) (T, Freshness, error)

// ReadBy is a Read with one argument.
type ReadBy[A, T any] func(context.Context, A) (T, Freshness, error)

// Live is a read made at the vendor on every call: its answer is always
// fresh. A nil fn gives a nil Read.
func Live[T any](fn func(context.Context) (T, error)) Read[T] {
	if fn == nil {
		return nil
	}
	return func(ctx context.Context) (T, Freshness, error) {
		v, err := fn(ctx)
		return v, Freshness{}, err
	}
}

// LiveBy is Live for a read with one argument.
func LiveBy[A, T any](fn func(context.Context, A) (T, error)) ReadBy[A, T] {
	if fn == nil {
		return nil
	}
	return func(ctx context.Context, a A) (T, Freshness, error) {
		v, err := fn(ctx, a)
		return v, Freshness{}, err
	}
}

// Cached wraps a vendor read that takes no arguments. name identifies the
// read (e.g. "gdap.customers"); reads wrapped under the same name and
// result type share entries, so wrapping one vendor call once and using it
// from several services makes them share its answers. A nil rc makes every
// call a Live read.
//
// The result's Freshness says how old a cached answer is and whether it is
// stale; this package's services turn it into the Source of the call: the
// vendor's real status now (error, timeout, unavailable), stale true and
// the answer's age.
func Cached[T any](rc *ReadCache, name string, fn func(context.Context) (T, error)) Read[T] {
	if rc == nil {
		return Live(fn)
	}
	return func(ctx context.Context) (T, Freshness, error) {
		return get(ctx, rc, name, "", fn)
	}
}

// CachedBy wraps a vendor read with one argument. key renders the argument
// into the cache key and must tell apart every two arguments that can give
// different answers; nil uses the argument's Go syntax (%#v), which does
// for strings, numbers and structs of them, not for pointers.
func CachedBy[A, T any](rc *ReadCache, name string, key func(A) string, fn func(context.Context, A) (T, error)) ReadBy[A, T] {
	if rc == nil {
		return LiveBy(fn)
	}
	if key == nil {
		key = func(a A) string { return fmt.Sprintf("%#v", a) }
	}
	return func(ctx context.Context, a A) (T, Freshness, error) {
		return get(ctx, rc, name, key(a), func(ctx context.Context) (T, error) { return fn(ctx, a) })
	}
}

func get[T any](ctx context.Context, rc *ReadCache, name, arg string, fn func(context.Context) (T, error)) (T, Freshness, error) {
	var zero T
	scope, ok := permissionScope(ctx)
	if !ok {
		v, err := fn(ctx)
		return v, Freshness{}, err
	}
	// The result type is part of the key, so a value read back always has
	// the type its read returns, whatever names other reads use.
	key := readcache.Key(name, reflect.TypeFor[T]().String(), scope, arg)
	res, err := rc.c.Get(ctx, key, func(ctx context.Context) (any, error) { return fn(ctx) })
	if err != nil {
		return zero, Freshness{}, err
	}
	v, ok := res.Value.(T)
	if !ok {
		return zero, Freshness{}, fmt.Errorf("read cache %s: entry holds %T, not %T", name, res.Value, zero)
	}
	f := Freshness{Age: res.Age}
	if res.Stale {
		f.Stale, f.Cause = true, res.LoadErr
	}
	return v, f, nil
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

// mark sets src stale when the call succeeded on a stale read: its status
// becomes the vendor's failure, so an outage is never reported as ok, and
// the detail says why and how old the served answer is.
func (f Freshness) mark(src *Source) {
	if !f.Stale || src.Status != upstream.StatusOK {
		return
	}
	age := f.Age.Round(time.Second)
	if f.Age < time.Second {
		age = f.Age.Round(time.Millisecond)
	}
	src.Stale, src.AgeMS = true, f.Age.Milliseconds()
	if src.Status = upstream.SourceStatus(f.Cause); src.Status == upstream.StatusOK {
		src.Status = upstream.StatusError // a stale answer always stands in for a failure
	}
	src.Detail = fmt.Sprintf("vendor failing (%s); serving its last good answer, %s old", upstream.Detail(f.Cause), age)
}

// timed runs one vendor read and describes it as a Source, stale when the
// read's answer stood in for a failing vendor; the source's asOf is when
// the answer was read from the vendor.
func timed[T any](ctx context.Context, vendor string, fn Read[T]) (T, Source, error) {
	start := time.Now()
	v, f, err := fn(ctx)
	src := sourceOf(vendor, err, time.Since(start))
	src.asOf = start.Add(-f.Age)
	f.mark(&src)
	return v, src, err
}

// MapRead is r with its answer passed through f, keeping its freshness.
func MapRead[T, U any](r Read[T], f func(T) U) Read[U] {
	return func(ctx context.Context) (U, Freshness, error) {
		v, fr, err := r(ctx)
		return f(v), fr, err
	}
}
