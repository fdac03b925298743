package middleware

import (
	"container/list"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/partnerhub/gateway/internal/auth"
	"github.com/partnerhub/gateway/internal/problem"
)

// RateLimitConfig tunes RateLimiter.
type RateLimitConfig struct {
	// PerSecond is the sustained request rate allowed per caller subject.
	PerSecond float64
	// Burst is how many requests a caller may send at once.
	Burst int
	// MaxSubjects bounds how many callers are tracked; beyond it the caller
	// seen least recently is forgotten (and starts again with a full
	// burst). 0 means 10 000.
	MaxSubjects int
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// RateLimiter limits each authenticated caller (token subject) with its
// own token bucket, so one runaway client cannot starve the others or the
// vendors' quotas. Memory is bounded: callers idle long enough for their
// bucket to refill are dropped (they lose nothing), and at MaxSubjects the
// least recently seen caller goes.
type RateLimiter struct {
	cfg     RateLimitConfig
	buckets *buckets
	limited *prometheus.CounterVec
}

// buckets is a bounded set of token buckets by key (a caller subject, a
// client address).
type buckets struct {
	perSecond float64
	burst     int
	max       int
	refill    time.Duration // time for an empty bucket to fill up

	mu  sync.Mutex
	m   map[string]*list.Element
	lru list.List // of *keyBucket, most recently seen at the front
}

// checkBucket lists what is wrong with a token bucket's rate and burst.
func checkBucket(perSecond float64, burst int) []error {
	var errs []error
	if !(perSecond > 0) || math.IsInf(perSecond, 0) {
		errs = append(errs, fmt.Errorf("rate must be a positive number, got %v", perSecond))
	}
	if burst < 1 {
		errs = append(errs, fmt.Errorf("burst must be at least 1, got %d", burst))
	}
	return errs
}

func newBuckets(perSecond float64, burst, maxKeys int) *buckets {
	return &buckets{perSecond: perSecond, burst: burst, max: maxKeys,
		refill: time.Duration(float64(burst) / perSecond * float64(time.Second)), m: map[string]*list.Element{}}
}

type keyBucket struct {
	key  string
	lim  *rate.Limiter
	seen time.Time
}

// NewRateLimiter validates cfg and registers gateway_rate_limited_total on
// reg.
func NewRateLimiter(cfg RateLimitConfig, reg prometheus.Registerer) (*RateLimiter, error) {
	errs := checkBucket(cfg.PerSecond, cfg.Burst)
	if cfg.MaxSubjects < 0 {
		errs = append(errs, fmt.Errorf("max subjects must not be negative, got %d", cfg.MaxSubjects))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("rate limiter: %w", err)
	}
	if cfg.MaxSubjects == 0 {
		cfg.MaxSubjects = 10_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	rl := &RateLimiter{
		cfg:     cfg,
		buckets: newBuckets(cfg.PerSecond, cfg.Burst, cfg.MaxSubjects),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_rate_limited_total",
			Help: "Requests refused with 429 because their caller exceeded its rate limit, by route pattern.",
		}, []string{"route"}),
	}
	if err := reg.Register(rl.limited); err != nil {
		return nil, err
	}
	return rl, nil
}

// Middleware refuses a request whose caller is over its rate with a 429
// problem and Retry-After. It must run after Authenticate: the caller's
// subject is the bucket.
func (rl *RateLimiter) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.FromContext(r.Context())
		if !ok {
			// Mounted before authentication: refuse rather than let
			// every caller share one anonymous bucket.
			problem.Write(w, RequestID(r.Context()), problem.Unauthorized("", "this operation needs an Authorization: Bearer <token> header"))
			return
		}
		wait := rl.take(callerKey(p), rl.cfg.Now())
		if wait <= 0 {
			next.ServeHTTP(w, r)
			return
		}
		rl.limited.WithLabelValues(routePattern(r)).Inc()
		secs := int(math.Ceil(wait.Seconds()))
		detail := fmt.Sprintf("this caller may send %s requests per second (bursts of %d) and is over that rate; retry in %d s",
			strconv.FormatFloat(rl.cfg.PerSecond, 'f', -1, 64), rl.cfg.Burst, secs)
		pr := problem.New(http.StatusTooManyRequests, "rate-limited", "Too Many Requests", detail)
		pr.Header = http.Header{"Retry-After": {strconv.Itoa(secs)}}
		problem.Write(w, RequestID(r.Context()), pr)
	})
}

// callerKey names a caller's bucket: its subject, or its client id for a
// token without one.
func callerKey(p auth.Principal) string {
	if p.Subject != "" {
		return "sub:" + p.Subject
	}
	return "client:" + p.ClientID
}

// take spends one token of key's bucket at now. It returns 0 when the
// request may go, else how long until a token is available.
func (rl *RateLimiter) take(key string, now time.Time) time.Duration {
	return rl.buckets.take(key, now)
}

func (b *buckets) take(key string, now time.Time) time.Duration {
	lim := b.get(key, now)
	if lim.AllowN(now, 1) {
		return 0
	}
	return b.wait(lim, now)
}

// wait is how long until lim holds a whole token again.
func (b *buckets) wait(lim *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - lim.TokensAt(now)
	return max(time.Duration(missing/b.perSecond*float64(time.Second)), time.Nanosecond)
}

// get returns key's limiter, creating it, and forgets keys that no longer
// need tracking.
func (b *buckets) get(key string, now time.Time) *rate.Limiter {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.m[key]; ok {
		kb := e.Value.(*keyBucket)
		kb.seen = now
		b.lru.MoveToFront(e)
		return kb.lim
	}
	// A bucket idle for its refill time is full again: dropping it loses
	// nothing, as a new one starts full.
	for e := b.lru.Back(); e != nil && now.Sub(e.Value.(*keyBucket).seen) >= b.refill; e = b.lru.Back() {
		b.forget(e)
	}
	if b.lru.Len() >= b.max {
		b.forget(b.lru.Back())
	}
	kb := &keyBucket{key: key, lim: rate.NewLimiter(rate.Limit(b.perSecond), b.burst), seen: now}
	b.m[key] = b.lru.PushFront(kb)
	return kb.lim
}

func (b *buckets) forget(e *list.Element) {
	b.lru.Remove(e)
	delete(b.m, e.Value.(*keyBucket).key)
}

func (b *buckets) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lru.Len()
}

// Tracked is the number of callers currently tracked.
func (rl *RateLimiter) Tracked() int { return rl.buckets.len() }
