// Package aggregate fans requests out to the vendors concurrently and merges
// their answers into the normalized model, saying which sources answered.
// It knows nothing about HTTP: handlers turn its results and errors into
// responses.
package aggregate

import (
	"context"
	"errors"
	"time"

	"github.com/partnerhub/gateway/internal/upstream"
)

// Source reports how one vendor contributed to an answer.
type Source struct {
	Vendor     string `json:"vendor"`
	Status     string `json:"status"` // ok | error | timeout | unavailable
	DurationMS int64  `json:"duration_ms"`
	// Stale says the data is the vendor's last good answer, served because
	// the vendor failed now; Status then says how it failed.
	Stale bool `json:"stale"`
	// AgeMS is how old the vendor's data in the answer is: 0 for a read
	// made for this request, more for a snapshot part or a stale answer.
	AgeMS  int64  `json:"age_ms"`
	Detail string `json:"detail,omitempty"`
	// asOf is when the data was read from the vendor (zero when unknown).
	asOf time.Time
}

// AsOf is when the source's data was read from the vendor: the start of a
// read made for this request, earlier for a cached, stale or snapshot
// answer; zero when unknown.
func (s Source) AsOf() time.Time { return s.asOf }

// oldest is the earlier of two read times, ignoring unknown (zero) ones.
func oldest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// VendorShare is the fraction of the caller's remaining time budget vendor
// calls may use, leaving the rest to merge and answer.
const VendorShare = 0.85

// vendorContext derives the vendors' deadline from the request's.
func vendorContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	left := time.Until(dl)
	return context.WithTimeout(ctx, time.Duration(float64(left)*VendorShare))
}

// call is one vendor's part of a fan-out.
type call[T any] struct {
	vendor string
	fn     Read[T]
}

type outcome[T any] struct {
	val    T
	err    error
	source Source
}

// fanOut runs every call concurrently under the vendor budget and waits for
// all of them: each call ends by itself when the budget runs out, because
// every vendor call honours its context. One vendor's failure never cancels
// the others. Results come back in the order of calls.
func fanOut[T any](ctx context.Context, calls []call[T]) []outcome[T] {
	ctx, cancel := vendorContext(ctx)
	defer cancel()
	out := make([]outcome[T], len(calls))
	done := make(chan int, len(calls)) // buffered: no sender ever blocks
	for i, c := range calls {
		go func() {
			v, src, err := timed(ctx, c.vendor, c.fn)
			out[i] = outcome[T]{val: v, err: err, source: src}
			done <- i
		}()
	}
	for range calls {
		<-done
	}
	return out
}

func sourceOf(vendor string, err error, d time.Duration) Source {
	s := Source{Vendor: vendor, Status: upstream.SourceStatus(err), DurationMS: d.Milliseconds()}
	if err != nil {
		s.Detail = upstream.Detail(err)
	}
	return s
}

// VendorsFailedError says every vendor an answer needed failed.
type VendorsFailedError struct {
	Sources []Source
	Errs    []error
}

func (e *VendorsFailedError) Error() string {
	return "every needed vendor failed: " + errors.Join(e.Errs...).Error()
}

func (e *VendorsFailedError) Unwrap() []error { return e.Errs }

// Status is the answer's status class: "unavailable" when every vendor was
// skipped (breakers open), "timeout" when none answered in time and none
// answered with an error, else "error".
func (e *VendorsFailedError) Status() string {
	status := upstream.StatusUnavailable
	for _, s := range e.Sources {
		switch s.Status {
		case upstream.StatusError:
			return upstream.StatusError
		case upstream.StatusTimeout:
			status = upstream.StatusTimeout
		}
	}
	return status
}

// RetryAfter is the longest Retry-After a vendor asked for, if any.
func (e *VendorsFailedError) RetryAfter() time.Duration {
	var d time.Duration
	for _, err := range e.Errs {
		var ue *upstream.Error
		if errors.As(err, &ue) && ue.RetryAfter > d {
			d = ue.RetryAfter
		}
	}
	return d
}

// collect splits outcomes into sources, values and errors; it returns a
// *VendorsFailedError when no call succeeded.
func collect[T any](outs []outcome[T]) (vals []T, sources []Source, complete bool, err error) {
	var errs []error
	for _, o := range outs {
		sources = append(sources, o.source)
		if o.err != nil {
			errs = append(errs, o.err)
			continue
		}
		vals = append(vals, o.val)
	}
	if len(outs) > 0 && len(errs) == len(outs) {
		return nil, sources, false, &VendorsFailedError{Sources: sources, Errs: errs}
	}
	return vals, sources, len(errs) == 0 && allOK(sources), nil
}

// allOK reports whether every source answered now: a stale stand-in for a
// failed vendor is served but leaves the answer incomplete.
func allOK(sources []Source) bool {
	for _, s := range sources {
		if s.Status != upstream.StatusOK {
			return false
		}
	}
	return true
}
