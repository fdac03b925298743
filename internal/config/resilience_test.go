package config

import (
	"strings"
	"testing"
	"time"
)

func loadWith(t *testing.T, kv ...string) (Config, error) {
	t.Helper()
	env := validEnv()
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return Load(func(k string) string { return env[k] })
}

func TestResilienceDefaults(t *testing.T) {
	c, err := loadWith(t)
	if err != nil {
		t.Fatal(err)
	}
	if c.Cache != DefaultCache || !c.Cache.Enabled() {
		t.Errorf("cache = %+v, want %+v", c.Cache, DefaultCache)
	}
	if c.Retry != DefaultRetry {
		t.Errorf("retry = %+v, want %+v", c.Retry, DefaultRetry)
	}
	if c.RateLimit != DefaultRateLimit || !c.RateLimit.Enabled() {
		t.Errorf("rate limit = %+v, want %+v", c.RateLimit, DefaultRateLimit)
	}
}

func TestResilienceKnobs(t *testing.T) {
	tests := []struct {
		name  string
		env   []string
		check func(Config) bool
	}{
		{"cache ttl", []string{"GATEWAY_CACHE_TTL", "750ms"}, func(c Config) bool { return c.Cache.TTL == 750*time.Millisecond }},
		{"cache ttl 0 disables", []string{"GATEWAY_CACHE_TTL", "0"}, func(c Config) bool { return !c.Cache.Enabled() }},
		{"cache max stale", []string{"GATEWAY_CACHE_MAX_STALE", "2m"}, func(c Config) bool { return c.Cache.MaxStale == 2*time.Minute }},
		{"cache max stale 0", []string{"GATEWAY_CACHE_MAX_STALE", "0s"}, func(c Config) bool { return c.Cache.MaxStale == 0 && c.Cache.Enabled() }},
		{"cache max entries", []string{"GATEWAY_CACHE_MAX_ENTRIES", "12"}, func(c Config) bool { return c.Cache.MaxEntries == 12 }},
		{"retry attempts", []string{"GATEWAY_RETRY_MAX_ATTEMPTS", "1"}, func(c Config) bool { return c.Retry.MaxAttempts == 1 }},
		{"retry backoff", []string{"GATEWAY_RETRY_BACKOFF_BASE", "10ms", "GATEWAY_RETRY_BACKOFF_MAX", "200ms"}, func(c Config) bool {
			return c.Retry.BackoffBase == 10*time.Millisecond && c.Retry.BackoffMax == 200*time.Millisecond
		}},
		{"rate limit with its default burst", []string{"GATEWAY_RATE_LIMIT", "2.5"}, func(c Config) bool {
			return c.RateLimit.PerSecond == 2.5 && c.RateLimit.Burst == 5
		}},
		{"rate limit and burst", []string{"GATEWAY_RATE_LIMIT", "100", "GATEWAY_RATE_BURST", "7"}, func(c Config) bool {
			return c.RateLimit.PerSecond == 100 && c.RateLimit.Burst == 7
		}},
		{"rate limit 0 is off", []string{"GATEWAY_RATE_LIMIT", "0"}, func(c Config) bool { return !c.RateLimit.Enabled() }},
		{"tiny rate still bursts one", []string{"GATEWAY_RATE_LIMIT", "0.1"}, func(c Config) bool { return c.RateLimit.Burst == 1 }},
		{"auth failures default on", nil, func(c Config) bool { return c.AuthFailures.Enabled() && c.AuthFailures.Burst == 20 }},
		{"auth failure rate 0 is off", []string{"GATEWAY_AUTH_FAILURE_RATE", "0"}, func(c Config) bool { return !c.AuthFailures.Enabled() }},
		{"auth failure rate and burst", []string{"GATEWAY_AUTH_FAILURE_RATE", "0.2", "GATEWAY_AUTH_FAILURE_BURST", "5"}, func(c Config) bool {
			return c.AuthFailures.PerSecond == 0.2 && c.AuthFailures.Burst == 5
		}},
		{"trusted proxies", []string{"GATEWAY_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7,2001:db8::/32"}, func(c Config) bool {
			p := c.AuthFailures.TrustedProxies
			return len(p) == 3 && p[0].String() == "10.0.0.0/8" && p[1].String() == "192.0.2.7/32" && p[2].String() == "2001:db8::/32"
		}},
		{"jwks refresh interval", []string{"GATEWAY_OIDC_JWKS_MIN_REFRESH", "5m"}, func(c Config) bool { return c.OIDCJWKSMinRefresh == 5*time.Minute }},
		{"jwks refresh default", nil, func(c Config) bool { return c.OIDCJWKSMinRefresh == time.Minute }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadWith(t, tc.env...)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Fatalf("cache %+v retry %+v rate limit %+v", c.Cache, c.Retry, c.RateLimit)
			}
		})
	}
}

func TestResilienceKnobsRejectedTogether(t *testing.T) {
	_, err := loadWith(t,
		"GATEWAY_CACHE_TTL", "-1s",
		"GATEWAY_CACHE_MAX_STALE", "forever",
		"GATEWAY_CACHE_MAX_ENTRIES", "0",
		"GATEWAY_RETRY_MAX_ATTEMPTS", "-2",
		"GATEWAY_RETRY_BACKOFF_BASE", "fast",
		"GATEWAY_RATE_LIMIT", "lots",
		"GATEWAY_RATE_BURST", "0",
	)
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	for _, want := range []string{"GATEWAY_CACHE_TTL", "GATEWAY_CACHE_MAX_STALE", "GATEWAY_CACHE_MAX_ENTRIES",
		"GATEWAY_RETRY_MAX_ATTEMPTS", "GATEWAY_RETRY_BACKOFF_BASE", "GATEWAY_RATE_LIMIT ", "GATEWAY_RATE_BURST"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}

func TestRetryBackoffMaxBelowBase(t *testing.T) {
	_, err := loadWith(t, "GATEWAY_RETRY_BACKOFF_BASE", "2s", "GATEWAY_RETRY_BACKOFF_MAX", "1s")
	if err == nil || !strings.Contains(err.Error(), "GATEWAY_RETRY_BACKOFF_MAX (1s) must not be below GATEWAY_RETRY_BACKOFF_BASE (2s)") {
		t.Fatalf("err = %v", err)
	}
}

func TestRateLimitRejectsNegativeAndInfinite(t *testing.T) {
	for _, v := range []string{"-1", "+Inf", "NaN"} {
		if _, err := loadWith(t, "GATEWAY_RATE_LIMIT", v); err == nil || !strings.Contains(err.Error(), "GATEWAY_RATE_LIMIT") {
			t.Errorf("%s: err = %v", v, err)
		}
	}
}

func TestHardeningKnobsRejectNonsense(t *testing.T) {
	for _, kv := range [][2]string{
		{"GATEWAY_TRUSTED_PROXIES", "10.0.0.0/8,proxy.local"},
		{"GATEWAY_AUTH_FAILURE_RATE", "-1"},
		{"GATEWAY_AUTH_FAILURE_BURST", "0"},
		{"GATEWAY_OIDC_JWKS_MIN_REFRESH", "10ms"},
	} {
		if _, err := loadWith(t, kv[0], kv[1]); err == nil || !strings.Contains(err.Error(), kv[0]) {
			t.Errorf("%s=%s: err = %v", kv[0], kv[1], err)
		}
	}
}
