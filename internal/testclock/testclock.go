// Package testclock holds the tests' two ways of dealing with time: a
// manual clock (time moves only when the test says so, so TTLs, token
// expiry and job progress need no sleeping) and WaitFor, the one poll for
// what the test cannot drive by a clock (another goroutine, a server).
// Only tests import it.
package testclock

import (
	"sync"
	"testing"
	"time"
)

// Clock is safe for concurrent use. Pass its Now method wherever a
// package takes a clock function.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock reading start.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Now is the clock's current reading.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// WaitFor polls cond every interval until it holds, and fails the test
// when it still does not after within. Give within a wide margin (seconds)
// over what a healthy run needs (milliseconds): a busy machine must not
// fail the test.
func WaitFor(t testing.TB, within, every time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(every) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
	}
}
