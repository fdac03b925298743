package upstream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeListing is an offset-addressed vendor listing with a page-size cap.
type fakeListing struct {
	rows     []string
	cap      int
	total    func(call int) int64 // nil: len(rows)
	noTotal  bool
	calls    atomic.Int32
	inFlight atomic.Int32
	peak     atomic.Int32
	mu       sync.Mutex
	offsets  []int
}

func (f *fakeListing) fetch(_ context.Context, offset, size int) (Page[string], error) {
	n := f.calls.Add(1)
	cur := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for p := f.peak.Load(); cur > p && !f.peak.CompareAndSwap(p, cur); p = f.peak.Load() {
	}
	f.mu.Lock()
	f.offsets = append(f.offsets, offset)
	f.mu.Unlock()
	if f.cap > 0 {
		size = min(size, f.cap)
	}
	var items []string
	if offset < len(f.rows) {
		items = slices.Clone(f.rows[offset:min(offset+size, len(f.rows))])
	}
	pg := Page[string]{Items: items, Total: int64(len(f.rows)), HasTotal: !f.noTotal}
	if f.total != nil {
		pg.Total = f.total(int(n))
	}
	return pg, nil
}

func rows(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("r%02d", i+1)
	}
	return out
}

func pager(f *fakeListing) Pager[string] {
	return Pager[string]{Vendor: "v", Op: "list", Fetch: f.fetch, ID: func(s string) string { return s },
		Size: 100, MaxPages: 50, Parallel: 4}
}

func TestPagerReadsEverythingFromACappedVendor(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    *fakeListing
	}{
		{"cap 3, total 7", &fakeListing{rows: rows(7), cap: 3}},
		{"no cap", &fakeListing{rows: rows(7)}},
		{"cap 10, total 95", &fakeListing{rows: rows(95), cap: 10}},
		{"cap 3, no total", &fakeListing{rows: rows(7), cap: 3, noTotal: true}},
		{"empty", &fakeListing{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pager(tc.f).All(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.f.rows) && len(got)+len(tc.f.rows) > 0 {
				t.Fatalf("got %v, want %v", got, tc.f.rows)
			}
		})
	}
}

func TestPagerReadsRemainingPagesConcurrentlyButBounded(t *testing.T) {
	f := &fakeListing{rows: rows(95), cap: 5}
	if _, err := pager(f).All(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.calls.Load(); got != 19 {
		t.Errorf("%d page reads, want 19 (95 rows / stride 5)", got)
	}
	if p := f.peak.Load(); p > 4 {
		t.Errorf("%d pages read at once, want at most 4", p)
	}
	for _, o := range f.offsets {
		if o%5 != 0 {
			t.Errorf("offset %d is not a multiple of the stride 5", o)
		}
	}
}

func TestPagerReportsAWalkThatRunsDry(t *testing.T) {
	// The vendor says 7 but only 5 rows exist.
	f := &fakeListing{rows: rows(5), cap: 3, total: func(int) int64 { return 7 }}
	got, err := pager(f).All(context.Background())
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrIncomplete) || got != nil {
		t.Fatalf("got %v, %v; want an ErrIncomplete *Error and no records", got, err)
	}
	if SourceStatus(err) != StatusError || !strings.Contains(Detail(err), "reported 7 records but its pages ran dry after 5") {
		t.Errorf("status %q, detail %q", SourceStatus(err), Detail(err))
	}
}

func TestPagerToleratesDuplicatesAndAGrowingTotal(t *testing.T) {
	// Page 2 repeats a row of page 1 (a row was inserted before it), and the
	// total grows from 7 to 8 during the walk.
	data := append(rows(3), "r03")
	data = append(data, rows(8)[3:]...)
	f := &fakeListing{rows: data, cap: 3, total: func(call int) int64 {
		if call == 1 {
			return 7
		}
		return 8
	}}
	got, err := pager(f).All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := rows(8); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestPagerStopsAtThePageLimit(t *testing.T) {
	f := &fakeListing{rows: rows(7), cap: 1, total: func(int) int64 { return 1 << 40 }}
	p := pager(f)
	p.MaxPages = 10
	_, err := p.All(context.Background())
	if !errors.Is(err, ErrIncomplete) || !strings.Contains(Detail(err), "more than 10 pages") {
		t.Fatalf("err %v", err)
	}
	if f.calls.Load() > 10 {
		t.Errorf("%d calls past the page limit", f.calls.Load())
	}
}

func TestPagerReturnsAFailedPagesError(t *testing.T) {
	boom := &Error{Vendor: "v", Op: "list", Status: 503, Err: errors.New("down")}
	f := &fakeListing{rows: rows(20), cap: 2}
	p := pager(f)
	p.Fetch = func(ctx context.Context, offset, size int) (Page[string], error) {
		if offset == 8 {
			return Page[string]{}, boom
		}
		return f.fetch(ctx, offset, size)
	}
	if _, err := p.All(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("err %v, want the failing page's", err)
	}
}
