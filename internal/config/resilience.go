package config

import (
	"log/slog"
	"math"
	"strconv"
	"time"
)

// Cache tunes the short-lived cache of vendor reads (customer and tenant
// lists, one tenant). A zero TTL turns it off.
type Cache struct {
	// TTL is how long a good answer is served without asking the vendor.
	TTL time.Duration
	// MaxStale is how long past TTL the last good answer may still be
	// served, marked stale, while the vendor fails. 0: never.
	MaxStale time.Duration
	// MaxEntries bounds the cache across all cached reads.
	MaxEntries int
	// SnapshotInterval is how often the merged customer and tenant lists
	// are rebuilt in the background; 0 turns snapshots off (every list
	// request fans out). A failing vendor's part is kept up to MaxStale.
	SnapshotInterval time.Duration
}

// Enabled reports whether reads are cached at all.
func (c Cache) Enabled() bool { return c.TTL > 0 }

// LogValue lists the cache settings.
func (c Cache) LogValue() slog.Value {
	return slog.GroupValue(slog.Duration("ttl", c.TTL), slog.Duration("max_stale", c.MaxStale),
		slog.Int("max_entries", c.MaxEntries), slog.Duration("snapshot_interval", c.SnapshotInterval))
}

// DefaultCache keeps reads briefly (enough to absorb bursts and page
// walks) and rides out vendor outages of a few minutes.
var DefaultCache = Cache{TTL: 5 * time.Second, MaxStale: 5 * time.Minute, MaxEntries: 1000, SnapshotInterval: 15 * time.Second}

// Retry tunes the retries of idempotent vendor calls (upstream.Config).
type Retry struct {
	// MaxAttempts counts the first attempt; 1 turns retries off.
	MaxAttempts int
	// BackoffBase and BackoffMax bound the full-jitter wait between tries.
	BackoffBase time.Duration
	BackoffMax  time.Duration
}

// LogValue lists the retry settings.
func (r Retry) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("max_attempts", r.MaxAttempts), slog.Duration("backoff_base", r.BackoffBase),
		slog.Duration("backoff_max", r.BackoffMax))
}

// DefaultRetry matches upstream's own defaults.
var DefaultRetry = Retry{MaxAttempts: 3, BackoffBase: 50 * time.Millisecond, BackoffMax: time.Second}

// RateLimit bounds how fast one caller (token subject) may send requests.
type RateLimit struct {
	// PerSecond is the sustained rate per subject; 0 turns limiting off.
	PerSecond float64
	// Burst is how many requests a subject may send at once.
	Burst int
}

// Enabled reports whether callers are rate limited.
func (r RateLimit) Enabled() bool { return r.PerSecond > 0 }

// LogValue lists the rate-limit settings.
func (r RateLimit) LogValue() slog.Value {
	return slog.GroupValue(slog.Float64("per_second", r.PerSecond), slog.Int("burst", r.Burst))
}

// DefaultRateLimit allows a busy frontend (page walks, parallel widgets)
// and stops a runaway loop.
var DefaultRateLimit = RateLimit{PerSecond: 20, Burst: 40}

// defaultBurst is two seconds' worth of requests, at least one.
func defaultBurst(perSecond float64) int {
	return int(max(1, math.Ceil(2*perSecond)))
}

// cache reads GATEWAY_CACHE_* over DefaultCache.
func (l *loader) cache() Cache {
	c := DefaultCache
	c.TTL = l.nonNegativeDuration("GATEWAY_CACHE_TTL", c.TTL)
	c.MaxStale = l.nonNegativeDuration("GATEWAY_CACHE_MAX_STALE", c.MaxStale)
	c.MaxEntries = l.intValue("GATEWAY_CACHE_MAX_ENTRIES", c.MaxEntries)
	c.SnapshotInterval = l.nonNegativeDuration("GATEWAY_SNAPSHOT_INTERVAL", c.SnapshotInterval)
	return c
}

// retry reads GATEWAY_RETRY_* over DefaultRetry.
func (l *loader) retry() Retry {
	r := DefaultRetry
	r.MaxAttempts = l.intValue("GATEWAY_RETRY_MAX_ATTEMPTS", r.MaxAttempts)
	r.BackoffBase = l.duration("GATEWAY_RETRY_BACKOFF_BASE", r.BackoffBase)
	r.BackoffMax = l.duration("GATEWAY_RETRY_BACKOFF_MAX", r.BackoffMax)
	if r.BackoffMax < r.BackoffBase {
		l.fail("GATEWAY_RETRY_BACKOFF_MAX (%v) must not be below GATEWAY_RETRY_BACKOFF_BASE (%v)", r.BackoffMax, r.BackoffBase)
	}
	return r
}

// rateLimit reads GATEWAY_RATE_LIMIT and GATEWAY_RATE_BURST; the burst
// defaults to two seconds' worth of the configured rate.
func (l *loader) rateLimit() RateLimit {
	r := DefaultRateLimit
	if v := l.get("GATEWAY_RATE_LIMIT"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			l.fail("GATEWAY_RATE_LIMIT must be a number of requests per second, 0 or more (0 turns limiting off), got %q", v)
		} else {
			r.PerSecond = f
			r.Burst = defaultBurst(f)
		}
	}
	r.Burst = l.intValue("GATEWAY_RATE_BURST", r.Burst)
	return r
}

// nonNegativeDuration is duration where 0 is meaningful (off).
func (l *loader) nonNegativeDuration(name string, def time.Duration) time.Duration {
	v := l.get(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		l.fail("%s must be a duration such as 2s or 500ms, 0 or more, got %q", name, v)
		return def
	}
	return d
}
