package testclock

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a testing.TB whose Fatalf is recorded, not fatal.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestWaitForReturnsOnceTheConditionHolds(t *testing.T) {
	var n atomic.Int32
	r := &recorder{TB: t}
	WaitFor(r, 5*time.Second, time.Millisecond, "three polls", func() bool { return n.Add(1) >= 3 })
	if r.failed != "" || n.Load() != 3 {
		t.Fatalf("failed %q after %d polls, want success after 3", r.failed, n.Load())
	}
}

func TestWaitForFailsNamingWhatDidNotHappen(t *testing.T) {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Fatalf is recorded, not fatal, so stop the poll once it is.
		WaitFor(r, 20*time.Millisecond, time.Millisecond, "the impossible", func() bool { return r.failed != "" })
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("WaitFor did not give up")
	}
	if want := "the impossible: not within 20ms"; r.failed != want {
		t.Errorf("failure %q, want %q", r.failed, want)
	}
}

func TestClockMovesOnlyWhenAdvanced(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c := New(start)
	if !c.Now().Equal(start) {
		t.Fatalf("Now = %v, want %v", c.Now(), start)
	}
	c.Advance(90 * time.Second)
	if got := c.Now().Sub(start); got != 90*time.Second {
		t.Errorf("after Advance(90s) the clock moved %v", got)
	}
}
