package aggregate

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/partnerhub/gateway/internal/model"
)

// Reading a snapshot: the list orders and vendor views it keeps, the pages
// cut from them, and single-record lookups. None of it calls a vendor.

// customerVendors are the vendors the customer list merges.
var customerVendors = []string{model.VendorGDAP, model.VendorCrayon, model.VendorBokaMera}

// ListOrder is the order of a list: the field it is sorted by and the
// direction (AIP-132 order_by). The zero Field is the list's default.
type ListOrder struct {
	Field string
	Desc  bool
}

// Sort fields of the snapshot's lists. Ties are broken by name, then id
// (tenants: by id).
const (
	OrderName      = "name"
	OrderID        = "id"
	OrderCreatedAt = "created_at"
	OrderUpdatedAt = "updated_at"
)

// CustomerOrderFields and TenantOrderFields are the fields each list sorts by.
var (
	CustomerOrderFields = []string{OrderName, OrderCreatedAt, OrderUpdatedAt}
	TenantOrderFields   = []string{OrderID, OrderName}
)

// compareCustomers orders customers by a date field (o.Field created_at
// or updated_at), customers without the date last in either direction;
// nil for the name order (the merged list's own). Equal dates keep the
// name order, as a stable sort of the merged list does.
func compareCustomers(o ListOrder) func(a, b *model.Customer) int {
	var date func(*model.Customer) *time.Time
	switch o.Field {
	case OrderCreatedAt:
		date = func(c *model.Customer) *time.Time { return c.CreatedAt }
	case OrderUpdatedAt:
		date = func(c *model.Customer) *time.Time { return c.UpdatedAt }
	default:
		return nil
	}
	return func(a, b *model.Customer) int {
		x, y := date(a), date(b)
		switch {
		case x == nil && y == nil:
			return 0
		case x == nil:
			return 1
		case y == nil:
			return -1
		case o.Desc:
			return y.Compare(*x)
		}
		return x.Compare(*y)
	}
}

// SortCustomers puts a merged list (by name, as Merge returns it) in o's
// order.
func SortCustomers(items []model.Customer, o ListOrder) {
	if cmp := compareCustomers(o); cmp != nil {
		slices.SortStableFunc(items, func(a, b model.Customer) int { return cmp(&a, &b) })
	} else if o.Desc {
		slices.Reverse(items)
	}
}

// dateOrders are the customer orders by date, kept per snapshot.
var dateOrders = []ListOrder{{OrderCreatedAt, false}, {OrderCreatedAt, true}, {OrderUpdatedAt, false}, {OrderUpdatedAt, true}}

// view is one order of a list: position k holds record at(k). A nil idx is
// the records' own order; rev walks it from the end.
type view struct {
	idx []int32
	n   int
	rev bool
}

func (v view) at(k int) int {
	if v.rev {
		k = v.n - 1 - k
	}
	if v.idx == nil {
		return k
	}
	return int(v.idx[k])
}

// walked is one page cut from a view.
type walked struct {
	hits []int // record indexes, in view order
	// next is the view position to continue from (0: this was the last
	// page); prev the position the previous page starts at (-1: this is
	// the first).
	next, prev int
}

// walk cuts size matches out of v from position offset. Without match it
// costs O(size); with match, as many records as it takes to fill the page
// (and, for prev, as many before it).
func walk(v view, offset, size int, match func(int) bool) walked {
	w := walked{hits: make([]int, 0, size), prev: -1}
	for k := offset; k < v.n; k++ {
		i := v.at(k)
		if match != nil && !match(i) {
			continue
		}
		if len(w.hits) == size {
			w.next = k
			break
		}
		w.hits = append(w.hits, i)
	}
	if offset > 0 {
		w.prev = max(0, offset-size)
		if match != nil {
			// The previous page starts at its first match; no match
			// before offset means this is the first page.
			found := 0
			for k := min(offset, v.n) - 1; k >= 0 && found < size; k-- {
				if match(v.at(k)) {
					found++
					w.prev = k
				}
			}
			if found == 0 {
				w.prev = -1
			} else if found < size {
				w.prev = 0
			}
		}
	}
	return w
}

// memo keeps what a snapshot derives on demand, once per snapshot: vendor
// views of the customer orders and totals of filtered lists. Snapshots
// sharing a generation share it (same content).
type memo struct {
	mu     sync.Mutex
	views  map[string][]int32
	counts map[string]int
}

// maxCounts bounds the remembered totals (distinct filters per snapshot).
const maxCounts = 1024

// count is the number of records of v that match, remembered per key.
func (m *memo) count(key string, v view, match func(int) bool) int {
	if match == nil {
		return v.n
	}
	m.mu.Lock()
	n, ok := m.counts[key]
	m.mu.Unlock()
	if ok {
		return n
	}
	for k := range v.n {
		if match(v.at(k)) {
			n++
		}
	}
	m.mu.Lock()
	if len(m.counts) >= maxCounts {
		clear(m.counts)
	}
	m.counts[key] = n
	m.mu.Unlock()
	return n
}

// customerView is the order of the customers vendors know (all when
// vendors is empty). The full orders are built with the snapshot; a
// vendor subset of one is built the first time it is asked for and kept.
func (s *Snapshot) customerView(o ListOrder, vendors []string) view {
	base := view{n: len(s.customers), rev: o.Desc}
	if compareCustomers(o) != nil {
		// nil when no customer has the date: the name order.
		base = view{n: len(s.customers), idx: s.customerOrders[o]}
	}
	if len(vendors) == 0 || len(vendors) == len(customerVendors) {
		return base
	}
	key := fmt.Sprintf("%s|%v|%s", o.Field, o.Desc, strings.Join(vendors, ","))
	s.memo.mu.Lock()
	defer s.memo.mu.Unlock()
	if idx, ok := s.memo.views[key]; ok {
		return view{idx: idx, n: len(idx)}
	}
	var mask uint8
	for _, v := range vendors {
		mask |= vendorBit(v)
	}
	idx := make([]int32, 0, len(s.customers))
	for k := range base.n {
		if i := base.at(k); s.customerVendors[i]&mask != 0 {
			idx = append(idx, int32(i))
		}
	}
	idx = slices.Clip(idx)
	s.memo.views[key] = idx
	return view{idx: idx, n: len(idx)}
}

func vendorBit(vendor string) uint8 {
	if i := slices.Index(partVendors[:], vendor); i >= 0 {
		return 1 << i
	}
	return 0
}

// CustomerPage is one page of a snapshot's customers.
type CustomerPage struct {
	Items []model.Customer
	// JSON holds each item's encoding, in the order of Items.
	JSON [][]byte
	// Next is the position to continue from; 0 when this was the last page.
	Next int
	// Prev is the position the previous page starts at; -1 on the first.
	Prev int
	// Total is how many customers match, over all pages.
	Total    int
	Sources  []Source
	Complete bool
}

// CustomerPage filters the merged list in q's order and returns size
// customers from offset (a position in that order, as Next and Prev give
// it). Without q.Q it costs O(size); with it, as many records as it takes
// to fill the page, and the total is counted once per snapshot and filter.
func (s *Snapshot) CustomerPage(q CustomerQuery, offset, size int) (CustomerPage, error) {
	// Every vendor's records shape the merged customers, even filtered
	// (references, contact, aliases), so every vendor's part is reported
	// and decides complete; the answer fails when no vendor filtered on
	// has data, as it then cannot say which customers they know.
	now := time.Now()
	sources, complete, err := s.Sources(now, customerVendors...)
	if err == nil && len(q.Vendors) > 0 {
		if _, _, ferr := s.Sources(now, q.Vendors...); ferr != nil {
			var vf *VendorsFailedError
			if errors.As(ferr, &vf) {
				vf.Sources = sources
			}
			err = ferr
		}
	}
	if err != nil {
		return CustomerPage{Sources: sources}, err
	}
	v := s.customerView(q.Order, q.Vendors)
	var match func(int) bool
	needle := strings.ToLower(strings.TrimSpace(q.Q))
	if needle != "" {
		match = func(i int) bool { return strings.Contains(s.customerKeys[i], needle) }
	}
	w := walk(v, offset, size, match)
	page := CustomerPage{Sources: sources, Complete: complete, Next: w.next, Prev: w.prev,
		Items: make([]model.Customer, 0, len(w.hits)), JSON: make([][]byte, 0, len(w.hits))}
	for _, i := range w.hits {
		page.Items = append(page.Items, s.customers[i])
		page.JSON = append(page.JSON, s.customerJSON[i])
	}
	page.Total = s.memo.count("c|"+strings.Join(q.Vendors, ",")+"|"+needle, v, match)
	return page, nil
}

// Len is the number of merged customers.
func (s *Snapshot) Len() int { return len(s.customers) }

// SnapshotTenantPage is one page of a snapshot's tenants.
type SnapshotTenantPage struct {
	// JSON holds each tenant's encoding.
	JSON [][]byte
	// Next, Prev and Total are as in CustomerPage.
	Next, Prev, Total int
}

// TenantPage filters the tenant list like Crayon does (publisher, tenant
// type, domain prefix, name, reference or domain containing q), in q's
// order (id or name), and returns size tenants from offset.
func (s *Snapshot) TenantPage(q TenantQuery, offset, size int) SnapshotTenantPage {
	prefix, needle := strings.ToLower(q.DomainPrefix), strings.ToLower(q.Q)
	org, pub := strconv.Itoa(q.OrganizationID), strconv.Itoa(q.PublisherID)
	var match func(int) bool
	if q.OrganizationID != 0 || q.PublisherID != 0 || q.Type != "" || prefix != "" || needle != "" {
		match = func(i int) bool {
			t := &s.tenants[i]
			switch {
			case q.OrganizationID != 0 && (t.Organization == nil || t.Organization.ID != org),
				q.PublisherID != 0 && (t.Publisher == nil || t.Publisher.ID != pub),
				q.Type != "" && t.Type != q.Type,
				prefix != "" && !strings.HasPrefix(strings.ToLower(t.DomainPrefix), prefix),
				needle != "" && !strings.Contains(s.tenantKeys[i], needle):
				return false
			}
			return true
		}
	}
	v := view{n: len(s.tenants), rev: q.Order.Desc}
	if q.Order.Field == OrderName {
		v.idx = s.tenantsByName
	}
	w := walk(v, offset, size, match)
	page := SnapshotTenantPage{JSON: make([][]byte, 0, len(w.hits)), Next: w.next, Prev: w.prev}
	for _, i := range w.hits {
		page.JSON = append(page.JSON, s.tenantJSON[i])
	}
	page.Total = s.memo.count(fmt.Sprintf("t|%s|%s|%s|%s|%s", org, pub, q.Type, prefix, needle), v, match)
	return page
}

// Tenant is the tenant with Crayon id id, enriched with GDAP.
func (s *Snapshot) Tenant(id string) (model.Tenant, bool) {
	i, ok := s.tenantByID[id]
	if !ok {
		return model.Tenant{}, false
	}
	return s.tenants[i], true
}

// Customer is the merged customer with the given id.
func (s *Snapshot) Customer(id string) (model.Customer, bool) {
	i, ok := s.customerByID[id]
	if !ok {
		return model.Customer{}, false
	}
	return s.customers[i], true
}

// CustomerOf is the merged customer a vendor record belongs to.
func (s *Snapshot) CustomerOf(ref model.VendorRef) (model.Customer, bool) {
	i, ok := s.byRef[ref]
	if !ok {
		return model.Customer{}, false
	}
	return s.customers[i], true
}

// GDAPCustomer is GDAP's record of a Microsoft tenant id.
func (s *Snapshot) GDAPCustomer(tenantID string) (model.GDAPCustomer, bool) {
	i, ok := s.gdapByTenant[strings.ToLower(tenantID)]
	if !ok {
		return model.GDAPCustomer{}, false
	}
	return s.gdap[i], true
}

// BookingCustomer is the booking customer with the given id.
func (s *Snapshot) BookingCustomer(id string) (model.BookingCustomer, bool) {
	i, ok := s.bookingByID[id]
	if !ok {
		return model.BookingCustomer{}, false
	}
	return s.bookings[i], true
}

// Has reports whether the snapshot holds data of vendor.
func (s *Snapshot) Has(vendor string) bool {
	i := slices.Index(partVendors[:], vendor)
	return i >= 0 && s.parts[i].has
}

// Missing is the latest error of vendor when the snapshot holds no data of
// it, else nil.
func (s *Snapshot) Missing(vendor string) error {
	i := slices.Index(partVendors[:], vendor)
	if i < 0 || s.parts[i].has {
		return nil
	}
	return s.parts[i].err
}
