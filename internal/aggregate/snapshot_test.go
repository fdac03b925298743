package aggregate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/testclock"
	"github.com/partnerhub/gateway/internal/upstream"
)

// snapVendors are switchable vendor lists for snapshot builds.
type snapVendors struct {
	mu       sync.Mutex
	gdap     []model.GDAPCustomer
	tenants  []model.Tenant
	bookings []model.BookingCustomer
	failGDAP error
	calls    atomic.Int64
	gate     chan struct{} // when set, GDAP reads wait for it
}

func (f *snapVendors) sources() SnapshotSources {
	return SnapshotSources{
		GDAP: func(ctx context.Context) ([]model.GDAPCustomer, error) {
			f.calls.Add(1)
			f.mu.Lock()
			gate, g, err := f.gate, f.gdap, f.failGDAP
			f.mu.Unlock()
			if gate != nil {
				select {
				case <-gate:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			return g, err
		},
		Crayon: func(context.Context) ([]model.Tenant, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.tenants, nil
		},
		BokaMera: func(context.Context) ([]model.BookingCustomer, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.bookings, nil
		},
	}
}

// seededVendors has n GDAP customers, n Crayon tenants of which half share
// a GDAP tenant, and n booking persons.
func seededVendors(n int) *snapVendors {
	f := &snapVendors{}
	for i := range n {
		tid := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		f.gdap = append(f.gdap, model.GDAPCustomer{MicrosoftTenantID: tid, CompanyName: fmt.Sprintf("Org %04d", i),
			Domain: fmt.Sprintf("org%04d.onmicrosoft.com", i)})
		ctid := tid
		if i%2 == 1 {
			ctid = fmt.Sprintf("11111111-0000-4000-8000-%012d", i)
		}
		f.tenants = append(f.tenants, model.Tenant{ID: fmt.Sprint(1000 + i), Name: fmt.Sprintf("Tenant %04d", i),
			MicrosoftTenantID: ctid, Type: model.TenantTypeT2, Status: model.TenantStatusActive,
			Publisher: &model.Ref{ID: "2", Name: "Microsoft"}})
		f.bookings = append(f.bookings, model.BookingCustomer{ID: fmt.Sprintf("b%04d", i), FirstName: "Person", LastName: fmt.Sprint(i),
			Email: fmt.Sprintf("p%d@example.com", i)})
	}
	return f
}

func TestSnapshotPagesWalkTheMergedListOnce(t *testing.T) {
	f := seededVendors(100)
	snaps := NewSnapshots(SnapshotConfig{Sources: f.sources(), Interval: time.Hour, MaxStale: time.Minute})
	snap, err := snaps.Fresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Merge(records(f.gdap, f.tenants))
	if got := snap.Len(); got != len(want)+len(f.bookings) {
		t.Fatalf("%d customers, want %d (half the tenants join GDAP)", got, len(want)+len(f.bookings))
	}
	seen := map[string]bool{}
	offset, pages := 0, 0
	for {
		page, err := snap.CustomerPage(CustomerQuery{}, offset, 30)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, c := range page.Items {
			if seen[c.ID] {
				t.Fatalf("%s twice", c.ID)
			}
			seen[c.ID] = true
		}
		if !page.Complete || len(page.Sources) != 3 {
			t.Fatalf("sources %+v complete %v", page.Sources, page.Complete)
		}
		if page.Next == 0 {
			break
		}
		offset = page.Next
	}
	if len(seen) != snap.Len() || pages != (snap.Len()+29)/30 {
		t.Fatalf("walk saw %d of %d in %d pages", len(seen), snap.Len(), pages)
	}

	// A filtered walk (q plus vendor) finds exactly the matching customers.
	offset, found := 0, 0
	for {
		page, _ := snap.CustomerPage(CustomerQuery{Q: "ORG 00", Vendors: []string{model.VendorCrayon}}, offset, 7)
		for _, c := range page.Items {
			if c.Name[:6] != "Org 00" || !hasRef(c, model.VendorCrayon) {
				t.Fatalf("%+v does not match", c)
			}
			found++
		}
		// The merged records come from every vendor, so every vendor is
		// reported, filtered or not.
		if len(page.Sources) != 3 {
			t.Fatalf("vendor view sources %+v", page.Sources)
		}
		if page.Next == 0 {
			break
		}
		offset = page.Next
	}
	if found != 50 { // the even orgs: their Crayon tenant joins GDAP's record
		t.Fatalf("found %d, want 50", found)
	}

	// Indexes answer by id.
	if c, ok := snap.Customer("ms-00000000-0000-4000-8000-000000000004"); !ok || len(c.References) != 2 {
		t.Fatalf("by id: %+v %v", c, ok)
	}
	if tn, ok := snap.Tenant("1004"); !ok || tn.GDAP == nil || tn.GDAP.CompanyName != "Org 0004" {
		t.Fatalf("tenant enriched: %+v %v", tn, ok)
	}
}

func hasRef(c model.Customer, vendor string) bool {
	for _, r := range c.References {
		if r.Vendor == vendor {
			return true
		}
	}
	return false
}

func TestSnapshotKeepsFailedVendorsPartStaleThenDropsIt(t *testing.T) {
	f := seededVendors(5)
	snaps := NewSnapshots(SnapshotConfig{Sources: f.sources(), Interval: time.Hour, MaxStale: 300 * time.Millisecond})
	first, _ := snaps.Fresh(context.Background())

	f.mu.Lock()
	f.failGDAP = &upstream.Error{Vendor: "gdap", Op: "list", Err: fmt.Errorf("%w: 503", upstream.ErrUnavailable)}
	f.mu.Unlock()
	second, _ := snaps.Fresh(context.Background())
	if second.Gen != first.Gen {
		t.Fatal("a failed vendor whose part is kept changed the content")
	}
	page, err := second.CustomerPage(CustomerQuery{}, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	g := page.Sources[0]
	// The data is kept, but the outage shows: the real status, stale, and
	// an incomplete answer.
	if g.Vendor != "gdap" || g.Status != "unavailable" || !g.Stale || g.Detail == "" || page.Complete || len(page.Items) != first.Len() {
		t.Fatalf("kept part: source %+v, complete %v, %d items", g, page.Complete, len(page.Items))
	}

	time.Sleep(350 * time.Millisecond) // past MaxStale
	third, _ := snaps.Fresh(context.Background())
	page, _ = third.CustomerPage(CustomerQuery{}, 0, 100)
	if g := page.Sources[0]; g.Status != "unavailable" || g.Stale || page.Complete {
		t.Fatalf("expired part: source %+v complete %v", g, page.Complete)
	}
	if _, err := third.CustomerPage(CustomerQuery{Vendors: []string{"gdap"}}, 0, 10); !errors.As(err, new(*VendorsFailedError)) {
		t.Fatalf("gdap view without gdap data: %v", err)
	}
	// Crayon's customers without GDAP's part lack their GDAP references and
	// contact: the answer has them, but must not call itself complete.
	crayon, err := third.CustomerPage(CustomerQuery{Vendors: []string{"crayon"}}, 0, 10)
	if err != nil || crayon.Complete || len(crayon.Items) == 0 || crayon.Sources[0].Status != "unavailable" {
		t.Fatalf("crayon view without gdap data: err %v, complete %v, %d items, sources %+v", err, crayon.Complete, len(crayon.Items), crayon.Sources)
	}
	// The older generation stays readable for page tokens.
	if old, err := snaps.Generation(first.Gen); err != nil || old.Len() != first.Len() {
		t.Fatalf("kept generation: %v", err)
	}
	if _, err := snaps.Generation(12345); !errors.Is(err, ErrGenerationGone) {
		t.Fatalf("unknown generation: %v", err)
	}
}

func TestSnapshotFreshReadersShareOneBuild(t *testing.T) {
	f := seededVendors(3)
	f.gate = make(chan struct{})
	snaps := NewSnapshots(SnapshotConfig{Sources: f.sources(), Interval: time.Hour})

	// Before the first snapshot exists, a reader waits, within its budget.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	go func() { _, _ = snaps.Fresh(context.Background()) }() // build 1, held at the gate
	testclock.WaitFor(t, 5*time.Second, time.Millisecond, "build 1 reading GDAP", func() bool { return f.calls.Load() > 0 })
	if _, err := snaps.Current(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("current before the first build: %v", err)
	}

	// Ten fresh readers arriving together share one more build, which
	// does not wait for build 1.
	var wg sync.WaitGroup
	gens := make([]*Snapshot, 10)
	for i := range gens {
		wg.Add(1)
		go func() { defer wg.Done(); gens[i], _ = snaps.Fresh(context.Background()) }()
	}
	testclock.WaitFor(t, 5*time.Second, time.Millisecond, "a second build reading GDAP", func() bool { return f.calls.Load() >= 2 })
	time.Sleep(50 * time.Millisecond) // room for a wrong third build to show
	if n := f.calls.Load(); n != 2 {
		t.Fatalf("%d builds reading GDAP for one held and ten concurrent fresh readers, want 2", n)
	}
	close(f.gate)
	wg.Wait()
	// Build 1's reader may finish after the ten.
	testclock.WaitFor(t, 5*time.Second, time.Millisecond, "two builds finishing", func() bool { return snaps.Builds() >= 2 })
	if n, calls := snaps.Builds(), f.calls.Load(); n != 2 || calls != 2 {
		t.Fatalf("%d builds finished with %d GDAP reads, want 2 and 2", n, calls)
	}
	for _, g := range gens {
		if g == nil || g.Len() == 0 {
			t.Fatal("a fresh reader got no snapshot")
		}
	}
}

// BenchmarkSnapshot builds a snapshot of 5,000 records per vendor and
// reports the heap it keeps per merged customer, then cuts pages from it.
//
//	go test -run '^$' -bench Snapshot -benchmem ./internal/aggregate/
func BenchmarkSnapshot(b *testing.B) {
	f := seededVendors(5000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	snap := newSnapshot(f.gdap, f.tenants, f.bookings, nil)
	runtime.GC()
	runtime.ReadMemStats(&after)
	perCustomer := float64(after.HeapAlloc-before.HeapAlloc) / float64(snap.Len())
	b.Run("build", func(b *testing.B) {
		for b.Loop() {
			newSnapshot(f.gdap, f.tenants, f.bookings, nil)
		}
		b.ReportMetric(perCustomer, "heap-B/customer")
	})
	b.Run("page", func(b *testing.B) {
		for b.Loop() {
			_, _ = snap.CustomerPage(CustomerQuery{}, 5000, 50)
		}
	})
	runtime.KeepAlive(snap)
}

// Every order walks forwards and backwards over the same records, the
// total counts every page, and a vendor set is the union of its vendors.
func TestSnapshotOrdersTotalsAndPreviousPages(t *testing.T) {
	f := seededVendors(40)
	f.tenants[7].Domain = "Special.onmicrosoft.com"
	snap := newSnapshot(f.gdap, f.tenants, f.bookings, nil)
	for i := range snap.parts {
		snap.parts[i] = part{has: true, last: Source{Vendor: partVendors[i], Status: upstream.StatusOK}}
	}
	for _, q := range []CustomerQuery{
		{},
		{Order: ListOrder{Field: OrderName, Desc: true}},
		{Q: "org 00", Order: ListOrder{Field: OrderName, Desc: true}},
		{Vendors: []string{model.VendorBokaMera, model.VendorCrayon}, Order: ListOrder{Field: OrderName, Desc: true}},
		{Vendors: []string{model.VendorGDAP}, Q: "1"},
	} {
		var fwd []string
		var (
			starts []int    // index in fwdIDs of each page's first item
			fwdIDs []string // every id walked
		)
		offset := 0
		for {
			page, err := snap.CustomerPage(q, offset, 7)
			if err != nil {
				t.Fatal(err)
			}
			if (len(starts) == 0) != (page.Prev == -1) {
				t.Fatalf("%+v at %d: prev %d on page %d", q, offset, page.Prev, len(starts))
			}
			if len(starts) > 0 {
				// The previous page is the one walked before.
				back, _ := snap.CustomerPage(q, page.Prev, 7)
				if back.Items[0].ID != fwdIDs[starts[len(starts)-1]] || back.Next != offset {
					t.Fatalf("%+v at %d: prev %d gives %s, next %d", q, offset, page.Prev, back.Items[0].ID, back.Next)
				}
			}
			starts = append(starts, len(fwdIDs))
			for _, c := range page.Items {
				fwdIDs = append(fwdIDs, c.ID)
			}
			for _, c := range page.Items {
				fwd = append(fwd, strings.ToLower(c.Name)+"\x00"+c.ID)
			}
			if page.Total != snapTotal(t, snap, q) {
				t.Fatalf("%+v: total %d", q, page.Total)
			}
			if page.Next == 0 {
				break
			}
			offset = page.Next
		}
		if len(fwd) != snapTotal(t, snap, q) || len(fwd) == 0 {
			t.Fatalf("%+v: walked %d of %d", q, len(fwd), snapTotal(t, snap, q))
		}
		want := slices.Clone(fwd)
		slices.Sort(want)
		if q.Order.Desc {
			slices.Reverse(want)
		}
		if !slices.Equal(fwd, want) {
			t.Fatalf("%+v: out of order: %v", q, fwd)
		}
	}
	// A whole-list total costs no scan; a vendor set is a union.
	all, _ := snap.CustomerPage(CustomerQuery{}, 0, 1)
	two, _ := snap.CustomerPage(CustomerQuery{Vendors: []string{model.VendorBokaMera, model.VendorGDAP}}, 0, 1)
	if all.Total != snap.Len() || two.Total != 80 || len(two.Sources) != 3 {
		t.Fatalf("totals %d %d, sources %+v", all.Total, two.Total, two.Sources)
	}

	// Tenants: by name descending, q matching the domain.
	page := snap.TenantPage(TenantQuery{Order: ListOrder{Field: OrderName, Desc: true}}, 0, 3)
	if page.Total != 40 || len(page.JSON) != 3 || !bytes.Contains(page.JSON[0], []byte(`"Tenant 0039"`)) || page.Prev != -1 || page.Next != 3 {
		t.Fatalf("tenants by name desc: %+v", page)
	}
	page = snap.TenantPage(TenantQuery{Q: "SPECIAL"}, 0, 3)
	if page.Total != 1 || len(page.JSON) != 1 || !bytes.Contains(page.JSON[0], []byte(`"Tenant 0007"`)) {
		t.Fatalf("q on domain: %+v", page)
	}
}

// snapTotal counts the matching customers the slow way.
func snapTotal(t *testing.T, snap *Snapshot, q CustomerQuery) int {
	t.Helper()
	n := 0
	for _, c := range snap.customers {
		known := len(q.Vendors) == 0
		for _, v := range q.Vendors {
			known = known || hasRef(c, v)
		}
		if known && strings.Contains(searchKey(c), strings.ToLower(q.Q)) {
			n++
		}
	}
	return n
}

// Customers sort by the dates BokaMera gives, both ways, the undated last;
// a merge keeps the earliest creation and the latest change.
func TestSnapshotOrdersByDate(t *testing.T) {
	f := seededVendors(10)
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 6 { // persons 0..5 dated, in reverse order of their names
		f.bookings[i].CreatedAt = base.Add(time.Duration(10-i) * time.Hour)
		f.bookings[i].UpdatedAt = base.Add(time.Duration(20+i) * time.Hour)
	}
	snap := newSnapshot(f.gdap, f.tenants, f.bookings, nil)
	for i := range snap.parts {
		snap.parts[i] = part{has: true, last: Source{Vendor: partVendors[i], Status: upstream.StatusOK}}
	}
	ids := func(o ListOrder) []string {
		var out []string
		for offset := 0; ; {
			page, err := snap.CustomerPage(CustomerQuery{Vendors: []string{model.VendorBokaMera}, Order: o}, offset, 4)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page.Items {
				out = append(out, c.ID)
			}
			if page.Next == 0 {
				return out
			}
			offset = page.Next
		}
	}
	p := func(i int) string { return "bokamera-" + f.bookings[i].ID }
	undated := []string{p(6), p(7), p(8), p(9)}
	for _, tc := range []struct {
		o    ListOrder
		want []string
	}{
		{ListOrder{Field: OrderCreatedAt}, append([]string{p(5), p(4), p(3), p(2), p(1), p(0)}, undated...)},
		{ListOrder{Field: OrderCreatedAt, Desc: true}, append([]string{p(0), p(1), p(2), p(3), p(4), p(5)}, undated...)},
		{ListOrder{Field: OrderUpdatedAt, Desc: true}, append([]string{p(5), p(4), p(3), p(2), p(1), p(0)}, undated...)},
	} {
		if got := ids(tc.o); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: %v\nwant %v", tc.o, got, tc.want)
		}
	}
	c, _ := snap.Customer(p(0))
	if c.CreatedAt == nil || !c.CreatedAt.Equal(base.Add(10*time.Hour)) || c.UpdatedAt == nil {
		t.Errorf("dates %+v", c)
	}
	merged := Merge([]model.CustomerRecord{
		{Vendor: model.VendorGDAP, VendorID: "t", MicrosoftTenantID: "t", Name: "A", UpdatedAt: base},
		{Vendor: model.VendorCrayon, VendorID: "1", MicrosoftTenantID: "t", Name: "A", CreatedAt: base.Add(time.Hour), UpdatedAt: base.Add(2 * time.Hour)},
		{Vendor: model.VendorDBSync, VendorID: "2", MicrosoftTenantID: "t", Name: "A", CreatedAt: base},
	})
	if len(merged) != 1 || !merged[0].CreatedAt.Equal(base) || !merged[0].UpdatedAt.Equal(base.Add(2*time.Hour)) {
		t.Errorf("merged dates %+v", merged)
	}
}
