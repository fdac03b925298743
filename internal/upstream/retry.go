package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/sony/gobreaker/v2"
)

// retryPolicy is the validated retry part of Config.
type retryPolicy struct {
	attempts  int           // total attempts of an idempotent call
	base, max time.Duration // full-jitter backoff bounds
}

// backoff is the wait after failed attempt n (1-based): uniform in
// [0, min(max, base·2^(n-1))].
func (p retryPolicy) backoff(n int) time.Duration {
	ceil := p.base
	for i := 1; i < n && ceil < p.max; i++ {
		ceil *= 2
	}
	ceil = min(ceil, p.max)
	if ceil <= 0 {
		return 0
	}
	return rand.N(ceil + 1)
}

// attempts runs call once or, when it is idempotent, until it succeeds, the
// failure is not transient, the attempts are used up, the breaker opens or
// the caller's deadline leaves no room for another try. It returns the last
// attempt's error, so the breaker and the caller see what the vendor did.
func (c *Client) attempts(ctx context.Context, call Call) error {
	req := call.Request
	for n := 1; ; n++ {
		err := c.attempt(ctx, call, req)
		if err == nil || !call.Idempotent || n >= c.retry.attempts {
			return err
		}
		wait, ok := c.retryWait(ctx, err, n)
		if !ok || c.breakerOpen() {
			return err
		}
		if req, ok = replay(call.Request); !ok {
			return err
		}
		if !sleep(ctx, wait) {
			return &Error{Vendor: c.vendor, Op: call.Op, Err: ctx.Err()}
		}
		// Another call may have tripped the breaker while this one waited;
		// an open breaker means nobody calls the vendor.
		if c.breakerOpen() {
			return err
		}
		c.metrics.retries.WithLabelValues(c.vendor, call.Op).Inc()
	}
}

func (c *Client) breakerOpen() bool { return c.breaker.State() == gobreaker.StateOpen }

// retryWait decides whether failed attempt n deserves another try and how
// long to wait first. Transient failures are connection errors, 429, 502,
// 503 and 504. An attempt's own timeout is not retried: a vendor that just
// failed to answer within Timeout is unlikely to answer in less, and a
// second wait would hold a caller, a goroutine and a connection slot for
// twice the vendor's timeout while it hangs.
func (c *Client) retryWait(ctx context.Context, err error, n int) (time.Duration, bool) {
	if ctx.Err() != nil {
		return 0, false // the caller gave up or its deadline passed
	}
	var e *Error
	if !errors.As(err, &e) {
		return 0, false
	}
	switch e.Status {
	case 0:
		if errors.Is(e.Err, context.DeadlineExceeded) || !connError(e.Err) {
			return 0, false
		}
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
	default:
		return 0, false
	}

	wait := c.retry.backoff(n)
	if e.RetryAfter > 0 {
		// A vendor asking for a longer pause than one attempt may take is
		// saying it is down for longer than a read should wait.
		if e.RetryAfter > max(c.retry.max, c.timeout) {
			return 0, false
		}
		wait = e.RetryAfter
	}
	dl, hasDeadline := ctx.Deadline()
	if !hasDeadline {
		return wait, true
	}
	room := time.Until(dl) - wait
	// Leave the retry some time to get an answer; one started with a
	// sliver of the deadline left would only turn a 5xx into a timeout.
	return wait, room >= min(c.retry.base, c.timeout)
}

// connError reports whether err is a failure to reach the vendor or to get
// an answer over the connection (refused, reset, closed early), as opposed
// to a configuration problem that a retry cannot fix.
func connError(err error) bool {
	var cert *tls.CertificateVerificationError
	var dns *net.DNSError
	switch {
	case errors.As(err, &cert):
		return false
	case errors.As(err, &dns):
		return !dns.IsNotFound
	}
	var op *net.OpError
	return errors.As(err, &op) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED)
}

// replay returns a request for another attempt with a fresh copy of the
// body, or false when the body cannot be produced again.
func replay(r *http.Request) (*http.Request, bool) {
	if r.Body == nil || r.Body == http.NoBody {
		return r, true
	}
	if r.GetBody == nil {
		return nil, false
	}
	body, err := r.GetBody()
	if err != nil {
		return nil, false
	}
	r2 := r.WithContext(r.Context()) // shallow copy; the caller's request stays as built
	r2.Body = body
	return r2, true
}

// sleep waits d unless ctx ends first, and reports whether it waited.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
