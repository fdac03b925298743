// Package testclock is a manual clock for tests: time moves only when the
// test says so, so TTLs, token expiry and job progress need no sleeping.
package testclock

import (
	"sync"
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
