package aggregate

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream"
)

// The merged customer list and the tenant list are served from in-memory
// snapshots (docs/snapshot.md). A background refresher reads each vendor's
// full list off the request path, merges once, and publishes an immutable
// Snapshot; a request only filters and slices it. The vendors answer the
// gateway's own credentials, never the caller's, so one snapshot is built
// for everyone and route permissions decide who may read it.

// SnapshotSources read the full vendor lists a snapshot is built from.
type SnapshotSources struct {
	GDAP     func(context.Context) ([]model.GDAPCustomer, error)
	Crayon   func(context.Context) ([]model.Tenant, error)
	BokaMera func(context.Context) ([]model.BookingCustomer, error)
}

// SnapshotConfig tunes the refresher.
type SnapshotConfig struct {
	Sources SnapshotSources
	// Interval is the time between background builds.
	Interval time.Duration
	// BuildTimeout bounds one build (every vendor read in it).
	BuildTimeout time.Duration
	// MaxStale is how long a failing vendor's last good part is still
	// served (marked stale); 0 drops it at the first failure.
	MaxStale time.Duration
	// Keep is how many distinct generations stay readable for page
	// tokens; default 4.
	Keep int
	Log  *slog.Logger
}

// Vendor slots of a snapshot's parts.
const (
	partGDAP = iota
	partCrayon
	partBokaMera
	nParts
)

var partVendors = [nParts]string{model.VendorGDAP, model.VendorCrayon, model.VendorBokaMera}

// part is one vendor's contribution: when its data was read, and how the
// latest attempt went.
type part struct {
	has  bool      // data present (fresh or kept from an earlier build)
	at   time.Time // when the data was read
	last Source    // the latest attempt
	err  error     // the latest attempt's error
}

// Snapshot is one immutable build of the merged lists. Its methods never
// call a vendor.
type Snapshot struct {
	// Gen identifies the content: the same data gives the same Gen, on
	// any replica, so page tokens survive rebuilds that change nothing.
	Gen   uint64
	Built time.Time

	parts [nParts]part

	gdap         []model.GDAPCustomer
	gdapByTenant map[string]int
	gdapByDomain map[string]int

	tenants    []model.Tenant // every Crayon tenant, by numeric id, enriched with GDAP
	tenantKeys []string       // lower-cased name + "\x00" + reference, per tenant
	tenantByID map[string]int
	tenantJSON [][]byte // each tenant encoded once, for pages cut from memory

	bookings    []model.BookingCustomer
	bookingByID map[string]int

	customers    []model.Customer // merged, sorted by name then id
	customerKeys []string         // lower-cased search haystack, per customer
	customerJSON [][]byte         // each customer encoded once
	customerByID map[string]int
	byRef        map[model.VendorRef]int // vendor record -> customer
	// customerVendors holds, per customer, a bit per vendor (partVendors)
	// that knows it.
	customerVendors []uint8

	customerOrders map[ListOrder][]int32 // the date orders (dateOrders)

	tenantsByName []int32 // tenant indexes by lower-cased name, then id

	memo *memo
}

// ErrGenerationGone says a page token's snapshot is no longer kept.
var ErrGenerationGone = errors.New("the list changed since this page token was issued")

// Snapshots builds snapshots in the background and hands out the current one.
type Snapshots struct {
	cfg   SnapshotConfig
	cur   atomic.Pointer[Snapshot]
	ready chan struct{} // closed once the first build is published

	mu             sync.Mutex
	pending        *build      // the no-cache build callers may still join
	newestFresh    *build      // the latest no-cache build under way
	freshRunning   int         // no-cache builds pending or under way
	publishedStart time.Time   // start of the build published last
	kept           []*Snapshot // distinct generations, newest last
	builds         atomic.Int64
}

type build struct {
	started time.Time
	done    chan struct{}
	snap    *Snapshot
}

// NewSnapshots returns the refresher; Run starts it.
func NewSnapshots(cfg SnapshotConfig) *Snapshots {
	if cfg.Keep <= 0 {
		cfg.Keep = 4
	}
	if cfg.BuildTimeout <= 0 {
		cfg.BuildTimeout = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Snapshots{cfg: cfg, ready: make(chan struct{})}
}

// Run builds at once and then every Interval until ctx ends; background
// builds never overlap.
func (s *Snapshots) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		s.runBuild(&build{done: make(chan struct{})})
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Builds is the number of builds finished so far.
func (s *Snapshots) Builds() int64 { return s.builds.Load() }

// Current is the latest snapshot; before the first exists it waits for it,
// as long as ctx allows.
func (s *Snapshots) Current(ctx context.Context) (*Snapshot, error) {
	if snap := s.cur.Load(); snap != nil {
		return snap, nil
	}
	select {
	case <-s.ready:
		return s.cur.Load(), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// freshWindow batches no-cache readers: everyone arriving within it
// shares one build, which starts when the window closes.
const freshWindow = 5 * time.Millisecond

// maxFreshBuilds bounds no-cache builds in flight: each holds every
// vendor list while it runs, so their number, not the callers', must
// bound memory and vendor load.
const maxFreshBuilds = 2

// Fresh returns a snapshot read from the vendors for this call: callers
// arriving within freshWindow share one build that starts right after
// them, never behind a build already under way, so a slow vendor costs
// them one vendor timeout. With maxFreshBuilds running, a caller shares
// the newest of them instead (its reads began at most that build's age
// before the call). The result is published for everyone.
func (s *Snapshots) Fresh(ctx context.Context) (*Snapshot, error) {
	s.mu.Lock()
	b := s.pending
	switch {
	case b != nil:
	case s.freshRunning >= maxFreshBuilds && s.newestFresh != nil:
		b = s.newestFresh
	default:
		b = &build{done: make(chan struct{})}
		s.pending = b
		s.freshRunning++
		time.AfterFunc(freshWindow, func() {
			s.mu.Lock()
			s.pending, s.newestFresh = nil, b
			s.mu.Unlock()
			s.runBuild(b)
			s.mu.Lock()
			s.freshRunning--
			if s.newestFresh == b {
				s.newestFresh = nil
			}
			s.mu.Unlock()
		})
	}
	s.mu.Unlock()
	select {
	case <-b.done:
		return b.snap, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Generation is the kept snapshot gen, or ErrGenerationGone.
func (s *Snapshots) Generation(gen uint64) (*Snapshot, error) {
	if cur := s.cur.Load(); cur != nil && cur.Gen == gen {
		return cur, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.kept {
		if k.Gen == gen {
			return k, nil
		}
	}
	return nil, ErrGenerationGone
}

// runBuild builds and publishes, unless a build that started later was
// published first (snapshots never go back in time).
func (s *Snapshots) runBuild(b *build) {
	b.started = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.BuildTimeout)
	defer cancel()
	snap := s.build(ctx, s.cur.Load())
	s.mu.Lock()
	switch cur := s.cur.Load(); {
	case !b.started.Before(s.publishedStart):
		s.publish(snap)
		s.publishedStart = b.started
		b.snap = s.cur.Load()
	case cur.Gen == snap.Gen:
		b.snap = cur
	default:
		b.snap = snap
	}
	s.mu.Unlock()
	s.builds.Add(1)
	close(b.done)
}

// publish makes snap current; s.mu is held. A build whose content equals
// the current one keeps the current data (and generation) with the new
// parts, so ages and statuses stay up to date.
func (s *Snapshots) publish(snap *Snapshot) {
	if cur := s.cur.Load(); cur != nil && cur.Gen == snap.Gen {
		same := *cur
		same.parts, same.Built = snap.parts, snap.Built
		s.cur.Store(&same)
		s.kept[len(s.kept)-1] = &same
	} else {
		s.cur.Store(snap)
		s.kept = append(s.kept, snap)
		if len(s.kept) > s.cfg.Keep {
			s.kept = slices.Delete(s.kept, 0, len(s.kept)-s.cfg.Keep)
		}
		s.cfg.Log.Info("customer snapshot published", "gen", strconv.FormatUint(snap.Gen, 16),
			"customers", len(snap.customers), "tenants", len(snap.tenants))
	}
	select {
	case <-s.ready:
	default:
		close(s.ready)
	}
}

// build reads every vendor concurrently and merges. A vendor that fails
// keeps prev's part while it is younger than MaxStale.
func (s *Snapshots) build(ctx context.Context, prev *Snapshot) *Snapshot {
	src := s.cfg.Sources
	var (
		gdap     []model.GDAPCustomer
		tenants  []model.Tenant
		bookings []model.BookingCustomer
		parts    [nParts]part
		wg       sync.WaitGroup
	)
	read := func(i int, fn func(context.Context) error) {
		defer wg.Done()
		start := time.Now()
		err := fn(ctx)
		parts[i] = part{has: err == nil, at: start, last: sourceOf(partVendors[i], err, time.Since(start)), err: err}
	}
	wg.Add(nParts)
	go read(partGDAP, func(ctx context.Context) (err error) { gdap, err = src.GDAP(ctx); return err })
	go read(partCrayon, func(ctx context.Context) (err error) { tenants, err = src.Crayon(ctx); return err })
	go read(partBokaMera, func(ctx context.Context) (err error) { bookings, err = src.BokaMera(ctx); return err })
	wg.Wait()

	now := time.Now()
	if prev != nil {
		keep := func(i int) bool {
			p := prev.parts[i]
			if parts[i].has || !p.has || now.Sub(p.at) > s.cfg.MaxStale {
				return false
			}
			parts[i].has, parts[i].at = true, p.at
			return true
		}
		if keep(partGDAP) {
			gdap = prev.gdap
		}
		if keep(partCrayon) {
			tenants = prev.tenants
		}
		if keep(partBokaMera) {
			bookings = prev.bookings
		}
	}
	snap := newSnapshot(gdap, tenants, bookings, prev)
	snap.parts, snap.Built = parts, now
	return snap
}

// newSnapshot indexes and merges the vendor lists; every lower-cased key is
// computed here, once per record.
func newSnapshot(gdap []model.GDAPCustomer, tenants []model.Tenant, bookings []model.BookingCustomer, prev *Snapshot) *Snapshot {
	s := &Snapshot{
		gdap: gdap, gdapByTenant: make(map[string]int, len(gdap)), gdapByDomain: make(map[string]int, len(gdap)),
		bookings: bookings, bookingByID: make(map[string]int, len(bookings)),
	}
	for i, g := range gdap {
		if id := strings.ToLower(g.MicrosoftTenantID); id != "" {
			if _, dup := s.gdapByTenant[id]; !dup {
				s.gdapByTenant[id] = i
			}
		}
		if d := strings.ToLower(g.Domain); d != "" {
			if _, dup := s.gdapByDomain[d]; !dup {
				s.gdapByDomain[d] = i
			}
		}
	}
	for i, b := range bookings {
		s.bookingByID[b.ID] = i
	}

	// Tenants by numeric id (Crayon's order), enriched as GET /v1/tenants
	// answers them; the vendor's slice is shared with older snapshots, so
	// enrich a copy.
	s.tenants = slices.Clone(tenants)
	slices.SortFunc(s.tenants, func(a, b model.Tenant) int {
		x, _ := strconv.ParseInt(a.ID, 10, 64)
		y, _ := strconv.ParseInt(b.ID, 10, 64)
		return cmp.Or(cmp.Compare(x, y), cmp.Compare(a.ID, b.ID))
	})
	s.tenantByID = make(map[string]int, len(s.tenants))
	s.tenantKeys = make([]string, len(s.tenants))
	for i := range s.tenants {
		t := &s.tenants[i]
		t.GDAP = s.gdapOf(t.MicrosoftTenantID, t.Domain)
		s.tenantByID[t.ID] = i
		s.tenantKeys[i] = strings.ToLower(t.Name) + "\x00" + strings.ToLower(t.Reference) + "\x00" + strings.ToLower(t.Domain)
	}
	s.tenantsByName = make([]int32, len(s.tenants))
	for i := range s.tenantsByName {
		s.tenantsByName[i] = int32(i)
	}
	slices.SortStableFunc(s.tenantsByName, func(a, b int32) int {
		// tenantKeys start with the lower-cased name; ties keep id order.
		x, _, _ := strings.Cut(s.tenantKeys[a], "\x00")
		y, _, _ := strings.Cut(s.tenantKeys[b], "\x00")
		return strings.Compare(x, y)
	})
	s.memo = &memo{views: map[string][]int32{}, counts: map[string]int{}}

	recs := make([]model.CustomerRecord, 0, len(gdap)+len(tenants)+len(bookings))
	for _, g := range gdap {
		recs = append(recs, g.CustomerRecord())
	}
	for _, t := range tenants {
		if t.Status != model.TenantStatusRemoved {
			recs = append(recs, t.CustomerRecord())
		}
	}
	for _, b := range bookings {
		recs = append(recs, b.CustomerRecord())
	}
	s.customers = Merge(recs)
	s.customerKeys = make([]string, len(s.customers))
	s.customerByID = make(map[string]int, len(s.customers))
	s.byRef = make(map[model.VendorRef]int, len(recs))
	s.customerVendors = make([]uint8, len(s.customers))
	for i, c := range s.customers {
		s.customerKeys[i] = searchKey(c)
		s.customerByID[c.ID] = i
		for _, r := range c.References {
			s.customerVendors[i] |= vendorBit(r.Vendor)
			s.byRef[r] = i
		}
	}
	s.customerOrders = make(map[ListOrder][]int32, len(dateOrders))
	for _, o := range dateOrders {
		cmp := compareCustomers(o)
		dated := slices.ContainsFunc(s.customers, func(c model.Customer) bool { return cmp(&c, &model.Customer{}) != 0 })
		if !dated {
			continue // nobody has the date: the name order
		}
		perm := make([]int32, len(s.customers))
		for i := range perm {
			perm[i] = int32(i)
		}
		slices.SortStableFunc(perm, func(a, b int32) int { return cmp(&s.customers[a], &s.customers[b]) })
		s.customerOrders[o] = perm
	}
	s.Gen = s.contentHash()
	// Encoding is the dearest step; unchanged content reuses the bytes.
	if prev != nil && prev.Gen == s.Gen {
		s.customerJSON, s.tenantJSON = prev.customerJSON, prev.tenantJSON
		s.memo = prev.memo // same content, same views and totals
	} else {
		s.customerJSON, s.tenantJSON = encodeAll(s.customers), encodeAll(s.tenants)
	}
	return s
}

// encodeAll encodes each element once, into one shared backing array.
func encodeAll[T any](items []T) [][]byte {
	var buf bytes.Buffer
	ends := make([]int, len(items))
	enc := json.NewEncoder(&buf)
	for i := range items {
		_ = enc.Encode(&items[i])   // model types always encode
		buf.Truncate(buf.Len() - 1) // Encode's newline
		ends[i] = buf.Len()
	}
	all := buf.Bytes()
	out := make([][]byte, len(items))
	start := 0
	for i, end := range ends {
		out[i] = all[start:end:end]
		start = end
	}
	return out
}

// searchKey is what q matches against: name, domain, tenant id and contact
// e-mail, lower-cased, separated so no match spans two fields.
func searchKey(c model.Customer) string {
	email := ""
	if c.PrimaryContact != nil {
		email = c.PrimaryContact.Email
	}
	return strings.ToLower(c.Name + "\x00" + c.Domain + "\x00" + c.MicrosoftTenantID + "\x00" + email)
}

// gdapOf is GDAP's record of a Microsoft tenant: by tenant id, then by
// onmicrosoft domain, as Merge joins.
func (s *Snapshot) gdapOf(tenantID, domain string) *model.GDAPCustomer {
	if i, ok := s.gdapByTenant[strings.ToLower(tenantID)]; ok && tenantID != "" {
		g := s.gdap[i]
		return &g
	}
	if i, ok := s.gdapByDomain[strings.ToLower(domain)]; ok && domain != "" {
		g := s.gdap[i]
		return &g
	}
	return nil
}

// contentHash fingerprints what callers can see of the lists.
func (s *Snapshot) contentHash() uint64 {
	h := fnv.New64a()
	var n [8]byte
	str := func(v string) {
		binary.LittleEndian.PutUint64(n[:], uint64(len(v)))
		h.Write(n[:])
		h.Write([]byte(v))
	}
	for _, c := range s.customers {
		str(c.ID)
		str(c.Name)
		str(c.Domain)
		if p := c.PrimaryContact; p != nil {
			str(p.FirstName + "\x00" + p.LastName + "\x00" + p.Email + "\x00" + p.Phone)
		}
		for _, r := range c.References {
			str(r.Vendor + "\x00" + r.ID)
		}
		for _, t := range []*time.Time{c.CreatedAt, c.UpdatedAt} {
			if t != nil {
				str(t.Format(time.RFC3339Nano))
			} else {
				str("")
			}
		}
	}
	ref := func(r *model.Ref) {
		if r != nil {
			str(r.ID + "\x00" + r.Name)
		}
	}
	for _, t := range s.tenants {
		if g := t.GDAP; g != nil {
			str(g.MicrosoftTenantID + "\x00" + g.PartnerTenantID + "\x00" + g.CompanyName + "\x00" + g.Domain)
			if p := g.PrimaryContact; p != nil {
				str(p.FirstName + "\x00" + p.LastName + "\x00" + p.Email + "\x00" + p.Phone)
			}
		}
		ref(t.Publisher)
		ref(t.Program)
		ref(t.Organization)
		str(t.ID + "\x00" + t.Name + "\x00" + t.MicrosoftTenantID + "\x00" + t.PublisherCustomerID + "\x00" + t.Domain +
			"\x00" + t.DomainPrefix + "\x00" + t.Reference + "\x00" + t.Type + "\x00" + t.Status)
	}
	if v := h.Sum64(); v != 0 {
		return v
	}
	return 1 // 0 means "no generation" in page tokens
}

// Sources describes the given vendors' parts as an answer's sources, and
// whether every one of them is whole and current. A vendor whose latest read
// failed but whose earlier data is kept answers its real status (never ok),
// stale, with the failure and the data's age: the answer then holds that
// data but is not complete, as with a stale read-cache answer.
func (s *Snapshot) Sources(now time.Time, vendors ...string) ([]Source, bool, error) {
	out := make([]Source, 0, len(vendors))
	complete := true
	var errs []error
	for _, v := range vendors {
		i := slices.Index(partVendors[:], v)
		if i < 0 {
			continue
		}
		p := s.parts[i]
		src := p.last
		src.AgeMS = max(0, now.Sub(p.at).Milliseconds())
		src.asOf = p.at
		if p.has && p.err != nil {
			src.Stale = true
			if src.Status = upstream.SourceStatus(p.err); src.Status == upstream.StatusOK {
				src.Status = upstream.StatusError
			}
			src.Detail = fmt.Sprintf("vendor failing (%s); serving its last good answer, %s old",
				upstream.Detail(p.err), now.Sub(p.at).Round(time.Second))
			complete = false
		}
		if !p.has {
			complete = false
			errs = append(errs, p.err)
		}
		out = append(out, src)
	}
	if len(vendors) > 0 && len(errs) == len(out) {
		return out, false, &VendorsFailedError{Sources: out, Errs: errs}
	}
	return out, complete, nil
}
