package middleware

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/partnerhub/gateway/internal/problem"
)

// AuthFailureConfig tunes AuthFailureLimiter.
type AuthFailureConfig struct {
	// PerSecond is how fast a client address earns back a failed attempt.
	PerSecond float64
	// Burst is how many failed authentications an address may make at once.
	Burst int
	// TrustedProxies are the hops whose X-Forwarded-For is believed; from
	// any other peer the connection's address is the client.
	TrustedProxies []netip.Prefix
	// MaxClients bounds how many addresses are tracked (0: 10 000).
	MaxClients int
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// AuthFailureLimiter limits failed authentications per client address.
// It is checked before any token work, so a client that keeps sending bad
// tokens is refused cheaply and its traffic never reaches the verifier (or
// the identity provider behind it). Successful requests cost nothing.
type AuthFailureLimiter struct {
	cfg     AuthFailureConfig
	buckets *buckets
	limited prometheus.Counter
}

// NewAuthFailureLimiter validates cfg and registers
// gateway_auth_failures_limited_total on reg.
func NewAuthFailureLimiter(cfg AuthFailureConfig, reg prometheus.Registerer) (*AuthFailureLimiter, error) {
	errs := checkBucket(cfg.PerSecond, cfg.Burst)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("failed-authentication limiter: %w", err)
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = 10_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := &AuthFailureLimiter{
		cfg:     cfg,
		buckets: newBuckets(cfg.PerSecond, cfg.Burst, cfg.MaxClients),
		limited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gateway_auth_failures_limited_total",
			Help: "Requests refused with 429, before token verification, because their client address failed authentication too often.",
		}),
	}
	if err := reg.Register(l.limited); err != nil {
		return nil, err
	}
	return l, nil
}

// refuse answers 429 when addr has no failed attempt left, and reports
// whether it did.
func (l *AuthFailureLimiter) refuse(w http.ResponseWriter, r *http.Request, addr string) bool {
	now := l.cfg.Now()
	lim := l.buckets.get(addr, now)
	if lim.TokensAt(now) >= 1 {
		return false
	}
	l.limited.Inc()
	secs := int(math.Ceil(l.buckets.wait(lim, now).Seconds()))
	pr := problem.New(http.StatusTooManyRequests, "rate-limited", "Too Many Requests",
		fmt.Sprintf("too many failed authentications from this address; retry in %d s", secs))
	pr.Header = http.Header{"Retry-After": {strconv.Itoa(secs)}}
	problem.Write(w, RequestID(r.Context()), pr)
	return true
}

// failed charges one failed authentication to addr.
func (l *AuthFailureLimiter) failed(addr string) {
	now := l.cfg.Now()
	l.buckets.get(addr, now).AllowN(now, 1)
}

// ClientAddr is the address a request came from: the connection's peer,
// or, when that peer is a trusted proxy, the nearest address in
// X-Forwarded-For that is not one.
func (l *AuthFailureLimiter) ClientAddr(r *http.Request) string {
	return ClientAddr(r, l.cfg.TrustedProxies)
}

// ClientAddr is AuthFailureLimiter.ClientAddr for a given proxy list.
func ClientAddr(r *http.Request, trusted []netip.Prefix) string {
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() {
		return r.RemoteAddr
	}
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	// Walk right to left: each trusted hop appended the address it saw.
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // garbage from beyond the trusted hops: stop at what we know
		}
		client = a.Unmap()
		if !isTrusted(client, trusted) {
			break
		}
	}
	return client.String()
}

func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
