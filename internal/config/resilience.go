package config

import (
	"log/slog"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/partnerhub/gateway/internal/upstream"
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
var DefaultRetry = Retry{MaxAttempts: upstream.DefaultMaxAttempts, BackoffBase: upstream.DefaultBackoffBase, BackoffMax: upstream.DefaultBackoffMax}

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

// AuthFailureLimit bounds failed authentications per client address; over
// it, requests from that address are refused before any token work.
type AuthFailureLimit struct {
	// PerSecond is how fast an address earns back one failed attempt; 0
	// turns the limit off.
	PerSecond float64
	// Burst is how many failures an address may make at once.
	Burst int
	// TrustedProxies are the peers whose X-Forwarded-For names the client.
	TrustedProxies []netip.Prefix
}

// Enabled reports whether failed authentications are limited.
func (a AuthFailureLimit) Enabled() bool { return a.PerSecond > 0 }

// LogValue lists the settings.
func (a AuthFailureLimit) LogValue() slog.Value {
	proxies := make([]string, len(a.TrustedProxies))
	for i, p := range a.TrustedProxies {
		proxies[i] = p.String()
	}
	return slog.GroupValue(slog.Float64("per_second", a.PerSecond), slog.Int("burst", a.Burst),
		slog.String("trusted_proxies", strings.Join(proxies, ",")))
}

// DefaultAuthFailureLimit lets a client fumble a token a few times and
// stops one that keeps sending bad tokens.
var DefaultAuthFailureLimit = AuthFailureLimit{PerSecond: 1, Burst: 20}

// authFailureLimit reads GATEWAY_AUTH_FAILURE_RATE, _BURST and
// GATEWAY_TRUSTED_PROXIES.
func (l *loader) authFailureLimit() AuthFailureLimit {
	a := DefaultAuthFailureLimit
	if v := l.get("GATEWAY_AUTH_FAILURE_RATE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			l.fail("GATEWAY_AUTH_FAILURE_RATE must be a number of failures per second, 0 or more (0 turns the limit off), got %q", v)
		} else {
			a.PerSecond = f
		}
	}
	a.Burst = l.intValue("GATEWAY_AUTH_FAILURE_BURST", a.Burst)
	if a.Enabled() && a.Burst < 1 {
		l.fail("GATEWAY_AUTH_FAILURE_BURST must be at least 1, got %d", a.Burst)
	}
	if v := l.get("GATEWAY_TRUSTED_PROXIES"); v != "" {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			p, err := netip.ParsePrefix(s)
			if err != nil {
				addr, aerr := netip.ParseAddr(s)
				if aerr != nil {
					l.fail("GATEWAY_TRUSTED_PROXIES: %q is neither a CIDR such as 10.0.0.0/8 nor an IP address", s)
					continue
				}
				p = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
			}
			a.TrustedProxies = append(a.TrustedProxies, p.Masked())
		}
	}
	return a
}

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
