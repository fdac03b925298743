// Package upstream is the shared client stack every vendor client sits on:
// a concurrency cap and a circuit breaker per vendor, retries of idempotent
// reads, a per-attempt timeout, Prometheus metrics, bounded body reads and
// typed errors.
//
// Vendor packages build requests and decode their own dialect; this package
// decides whether a call may go out and how its outcome is counted.
package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/trace"
)

// MaxBodyBytes bounds every vendor response body the gateway reads.
const MaxBodyBytes = 8 << 20

// BreakerConfig tunes the per-vendor circuit breaker.
type BreakerConfig struct {
	// MinRequests in the rolling window before the breaker may trip.
	MinRequests uint32
	// FailureRatio at or above which the breaker trips (0..1].
	FailureRatio float64
	// Window is the rolling window over which failures are counted.
	Window time.Duration
	// OpenFor is how long the breaker stays open before a half-open probe.
	OpenFor time.Duration
	// HalfOpenProbes is how many calls may probe while half-open.
	HalfOpenProbes uint32
}

// DefaultBreaker is a sensible production default.
var DefaultBreaker = BreakerConfig{
	MinRequests:    10,
	FailureRatio:   0.5,
	Window:         30 * time.Second,
	OpenFor:        15 * time.Second,
	HalfOpenProbes: 2,
}

// The defaults of a vendor client stack. config reads its GATEWAY_*
// defaults from here, so a zero field in Config and an unset variable mean
// the same thing.
const (
	DefaultTimeout       = 3 * time.Second
	DefaultMaxConcurrent = 128
	DefaultMaxAttempts   = 3
	DefaultBackoffBase   = 50 * time.Millisecond
	DefaultBackoffMax    = time.Second
)

// Config describes one vendor's client stack.
type Config struct {
	Vendor string
	// Timeout bounds one attempt, including reading the body. A retried
	// call makes up to MaxAttempts attempts, each with its own Timeout, all
	// within the caller's deadline.
	Timeout time.Duration
	// MaxConcurrent caps in-flight calls to this vendor; beyond it a call
	// fails at once with ErrUnavailable instead of queuing. 0 means
	// DefaultMaxConcurrent.
	MaxConcurrent int
	Breaker       BreakerConfig
	// MaxAttempts bounds the attempts of an idempotent call, the first one
	// included. 0 means DefaultMaxAttempts; 1 turns retries off.
	MaxAttempts int
	// BackoffBase and BackoffMax shape the wait before a retry: a random
	// duration up to min(BackoffMax, BackoffBase·2^(retry-1)) ("full
	// jitter", so clients that failed together do not retry together).
	// 0 means DefaultBackoffBase and DefaultBackoffMax.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// HTTPClient overrides the tuned default (tests only).
	HTTPClient *http.Client
	// TracerProvider makes the client spans; nil means otel's global one.
	TracerProvider trace.TracerProvider
}

// Client runs calls to one vendor through breaker, bulkhead, timeout and
// metrics. It is safe for concurrent use; build one per vendor.
type Client struct {
	vendor  string
	timeout time.Duration
	http    *http.Client
	breaker *gobreaker.CircuitBreaker[struct{}]
	slots   chan struct{}
	metrics *Metrics
	log     *slog.Logger
	retry   retryPolicy
	tracer  trace.Tracer
}

// New builds a vendor client stack. metrics may be shared by all vendors.
func New(cfg Config, metrics *Metrics, log *slog.Logger) (*Client, error) {
	if cfg.Vendor == "" {
		return nil, errors.New("upstream: vendor name is required")
	}
	if cfg.Timeout <= 0 {
		return nil, fmt.Errorf("upstream %s: timeout must be positive", cfg.Vendor)
	}
	if metrics == nil {
		return nil, fmt.Errorf("upstream %s: metrics are required", cfg.Vendor)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	if cfg.MaxAttempts < 0 || cfg.BackoffBase < 0 || cfg.BackoffMax < 0 {
		return nil, fmt.Errorf("upstream %s: retry settings must not be negative", cfg.Vendor)
	}
	rp := retryPolicy{attempts: cfg.MaxAttempts, base: cfg.BackoffBase, max: cfg.BackoffMax}
	if rp.attempts == 0 {
		rp.attempts = DefaultMaxAttempts
	}
	if rp.base == 0 {
		rp.base = DefaultBackoffBase
	}
	if rp.max == 0 {
		rp.max = DefaultBackoffMax
	}
	if rp.max < rp.base {
		return nil, fmt.Errorf("upstream %s: BackoffMax %v is below BackoffBase %v", cfg.Vendor, rp.max, rp.base)
	}
	b := cfg.Breaker
	if b == (BreakerConfig{}) {
		b = DefaultBreaker
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: NewTransport(cfg.MaxConcurrent), Timeout: 0}
	}
	c := &Client{
		vendor:  cfg.Vendor,
		timeout: cfg.Timeout,
		http:    tracedClient(hc),
		tracer:  tracerFor(cfg.TracerProvider),
		slots:   make(chan struct{}, cfg.MaxConcurrent),
		metrics: metrics,
		log:     log.With("vendor", cfg.Vendor),
		retry:   rp,
	}
	c.breaker = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:         cfg.Vendor,
		MaxRequests:  max(b.HalfOpenProbes, 1),
		Interval:     b.Window,
		BucketPeriod: b.Window / 10,
		Timeout:      b.OpenFor,
		ReadyToTrip: func(n gobreaker.Counts) bool {
			return n.Requests >= b.MinRequests &&
				float64(n.TotalFailures) >= b.FailureRatio*float64(n.Requests)
		},
		IsSuccessful: func(err error) bool { return !vendorFault(err) },
		IsExcluded:   func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			c.log.Warn("circuit breaker state changed", "from", from.String(), "to", to.String())
		},
	})
	metrics.breakerState.add(cfg.Vendor, c.breaker.State)
	return c, nil
}

// Vendor is the vendor name this client calls.
func (c *Client) Vendor() string { return c.vendor }

// BreakerState is "closed", "half-open" or "open".
func (c *Client) BreakerState() string { return c.breaker.State().String() }

// NewTransport is a tuned transport for one vendor: bounded dials, TLS and
// header waits, connection reuse sized to the vendor's concurrency cap.
func NewTransport(maxConns int) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          maxConns,
		MaxIdleConnsPerHost:   maxConns,
		MaxConnsPerHost:       maxConns,
		IdleConnTimeout:       90 * time.Second,
		// Bodies are bounded by MaxBodyBytes; headers need their own bound
		// (the default allows 10 MiB per response).
		MaxResponseHeaderBytes: MaxHeaderBytes,
	}
}

// MaxHeaderBytes bounds the response headers the gateway accepts from a
// vendor.
const MaxHeaderBytes = 1 << 20

// Call describes one logical vendor call.
type Call struct {
	// Op is a short snake_case operation name, used in metrics and errors.
	Op string
	// Request is sent as is; it must not carry a context (Do adds it). A
	// retried request's body is replayed through Request.GetBody, which
	// http.NewRequest sets for in-memory bodies.
	Request *http.Request
	// Idempotent marks a call that may safely reach the vendor more than
	// once (reads, token grants, read-only POSTs). Only such calls are
	// retried; a call that changes vendor state is sent at most once.
	Idempotent bool
	// Timeout, when positive, replaces the client's per-attempt timeout
	// for a call the vendor documents as slow (GDAP's ExpressTransition).
	Timeout time.Duration
	// Handle reads the response (status check, decode). It runs inside the
	// attempt's timeout, once per attempt; Do closes the body afterwards. An *Error it returns
	// gets Vendor and Op filled in.
	Handle func(*http.Response) error
}

// Do runs one call through the bulkhead, the breaker, retries (idempotent
// calls only) and the per-attempt timeout, and records it. The breaker sees
// the logical call once, whatever the number of attempts. Every failure is
// an *Error.
func (c *Client) Do(ctx context.Context, call Call) error {
	start := time.Now()
	ctx, span := c.startSpan(ctx, call)
	err := c.do(ctx, call)
	if errors.Is(err, ErrCredentials) {
		// The gateway's own configuration is wrong: operators must hear of
		// it whatever the caller's answer was.
		c.log.Error("vendor rejected the gateway's credentials", "op", call.Op, "error", err)
	}
	outcome := outcomeOf(err)
	c.endSpan(span, outcome, err)
	c.metrics.requests.WithLabelValues(c.vendor, call.Op, outcome).Inc()
	c.metrics.duration.WithLabelValues(c.vendor, call.Op, outcome).Observe(time.Since(start).Seconds())
	return err
}

// slotWait bounds how long a call waits for a free slot under the
// concurrency cap.
const slotWait = 250 * time.Millisecond

func (c *Client) do(ctx context.Context, call Call) error {
	if err := ctx.Err(); err != nil {
		return &Error{Vendor: c.vendor, Op: call.Op, Err: err}
	}
	select {
	case c.slots <- struct{}{}:
	default:
		// Full: a burst of healthy calls frees slots within milliseconds,
		// so wait briefly (within the caller's budget) instead of shedding
		// at once; only sustained overload is refused.
		t := time.NewTimer(slotWait)
		select {
		case c.slots <- struct{}{}:
			t.Stop()
		case <-t.C:
			return &Error{Vendor: c.vendor, Op: call.Op, Err: fmt.Errorf("%w: concurrency cap reached", ErrUnavailable)}
		case <-ctx.Done():
			t.Stop()
			return &Error{Vendor: c.vendor, Op: call.Op, Err: fmt.Errorf("%w: concurrency cap reached", ErrUnavailable)}
		}
	}
	defer func() { <-c.slots }()
	_, err := c.breaker.Execute(func() (struct{}, error) {
		return struct{}{}, c.attempts(ctx, call)
	})
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return &Error{Vendor: c.vendor, Op: call.Op, Err: fmt.Errorf("%w: %w", ErrUnavailable, err)}
	}
	return err
}

// attempt sends req once under the per-attempt timeout and lets call.Handle
// read the answer. The response body is drained and closed before it
// returns, so a retry never holds a failed attempt's connection.
func (c *Client) attempt(parent context.Context, call Call, req *http.Request) error {
	timeout := c.timeout
	if call.Timeout > 0 {
		timeout = call.Timeout
	}
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	fail := func(err error) error {
		// The context's error says more than the transport's wrapping of it.
		if cerr := ctx.Err(); cerr != nil {
			if parent.Err() != nil {
				cerr = parent.Err()
			}
			err = cerr
		}
		return &Error{Vendor: c.vendor, Op: call.Op, Err: err}
	}
	resp, err := c.http.Do(req.WithContext(ctx))
	if err != nil {
		return fail(err)
	}
	defer func() {
		// Drain a little so the connection can be reused, then close.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		_ = resp.Body.Close()
	}()
	resp.Body = limitBody(resp.Body)
	if err := call.Handle(resp); err != nil {
		var e *Error
		if errors.As(err, &e) {
			if e.Vendor == "" {
				e.Vendor = c.vendor
			}
			if e.Op == "" {
				e.Op = call.Op
			}
			if e.RetryAfter == 0 && (e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable) {
				e.RetryAfter = RetryAfter(resp.Header, time.Now())
			}
			// A body the attempt's deadline cut short fails to decode, but
			// the vendor was slow, not wrong: report the timeout.
			if ctx.Err() != nil && (e.Status == 0 || errors.Is(e.Err, ErrMalformed)) {
				return fail(err)
			}
			return err
		}
		if ctx.Err() != nil {
			return fail(err)
		}
		// A body that could not be read or decoded is the vendor's fault.
		if !errors.Is(err, ErrMalformed) {
			err = fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		return &Error{Vendor: c.vendor, Op: call.Op, Status: resp.StatusCode, Err: err}
	}
	return nil
}

type limitedBody struct {
	io.Reader
	io.Closer
}

func limitBody(rc io.ReadCloser) io.ReadCloser {
	return limitedBody{Reader: io.LimitReader(rc, MaxBodyBytes), Closer: rc}
}

// vendorJSON is how every vendor answer is decoded: unknown members are
// ignored (vendors add fields) and names match regardless of case (vendors
// differ in case; docs/vendors.md). Duplicate names and trailing data are
// malformed. json v2 does this in one pass, about twice as fast as
// encoding/json (BenchmarkDecode* in the vendor packages).
var vendorJSON = json.JoinOptions(json.MatchCaseInsensitiveNames(true), json.RejectUnknownMembers(false))

// DecodeJSON decodes a whole (already bounded) vendor body into v; a body
// that is not one JSON value of v's shape is ErrMalformed.
func DecodeJSON(r io.Reader, v any) error {
	if err := json.UnmarshalRead(r, v, vendorJSON); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}

// UnmarshalJSON is DecodeJSON for a body already read.
func UnmarshalJSON(b []byte, v any) error {
	if err := json.Unmarshal(b, v, vendorJSON); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}

// ReadErrorBody reads at most 64 KiB of an error body for decoding.
func ReadErrorBody(r io.Reader) []byte {
	b, _ := io.ReadAll(io.LimitReader(r, 64<<10))
	return b
}

// RetryAfter parses a Retry-After header in seconds or HTTP-date form.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	var secs int
	if _, err := fmt.Sscanf(v, "%d", &secs); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func outcomeOf(err error) string {
	var e *Error
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &e) && e.Status == 0:
		return "connection_error"
	case vendorFault(err):
		return "error"
	default:
		return "rejected"
	}
}

func breakerGauge(s gobreaker.State) float64 {
	switch s {
	case gobreaker.StateHalfOpen:
		return 1
	case gobreaker.StateOpen:
		return 2
	}
	return 0
}
