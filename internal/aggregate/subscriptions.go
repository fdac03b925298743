package aggregate

import (
	"cmp"
	"context"
	"slices"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream"
)

// SubscriptionFilter is one Crayon subscription page request; run.go maps
// it onto Crayon's SubscriptionFilter. Zero values are omitted.
type SubscriptionFilter struct {
	TenantID string
	// Statuses are model.Subscription* statuses; none means all.
	Statuses []string
	Q        string
	// Page is 1-based, as Crayon pages.
	Page, PageSize int
}

// SubscriptionBackend is what the subscription service needs from the
// vendors.
type SubscriptionBackend struct {
	List func(ctx context.Context, f SubscriptionFilter) ([]model.Subscription, int64, error)
	Get  func(ctx context.Context, id string) (model.Subscription, error)
	// CrayonTenants and GDAPCustomers place a tenant in its customer, as
	// GET /v1/customers merges them.
	CrayonTenants Read[[]model.Tenant]
	GDAPCustomers Read[[]model.GDAPCustomer]
}

// Subscriptions serves Crayon subscriptions with the gateway customer each
// belongs to.
type Subscriptions struct{ b SubscriptionBackend }

// NewSubscriptions returns the subscription service.
func NewSubscriptions(b SubscriptionBackend) *Subscriptions { return &Subscriptions{b: b} }

// SubscriptionQuery is a listing request. CustomerID narrows to the
// customer's Crayon tenants, walked one after the other: Part is the index
// of the tenant being paged.
type SubscriptionQuery struct {
	CustomerID string
	SubscriptionFilter
	Part int
}

// SubscriptionPage is one page of a listing. Next is the position of the
// following page, nil on the last.
type SubscriptionPage struct {
	Items    []model.Subscription
	Next     *SubscriptionPosition
	Sources  []Source
	Complete bool
}

// SubscriptionPosition is where the next page starts at the vendor: the
// tenant (Part), the Crayon page and the page size Crayon actually used.
type SubscriptionPosition struct {
	Part, Page, PageSize int
}

// customerIndex maps Crayon tenant ids to gateway customer ids.
type customerIndex struct {
	byTenant  map[string]string
	customers []model.Customer
	sources   []Source
	complete  bool
	err       error // both lookups failed
	tenantErr error // Crayon's tenant list failed
}

// index reads tenants and GDAP customers concurrently and merges them as
// GET /v1/customers does. With GDAP down, tenants that only GDAP's domain
// could join get no customer id rather than a wrong one.
func (s *Subscriptions) index(ctx context.Context) customerIndex {
	var (
		tenants []model.Tenant
		gdap    []model.GDAPCustomer
	)
	outs := fanOut(ctx, []call[struct{}]{
		store(model.VendorCrayon, &tenants, s.b.CrayonTenants),
		store(model.VendorGDAP, &gdap, s.b.GDAPCustomers),
	})
	ix := customerIndex{byTenant: map[string]string{}, sources: sourcesOf(outs)}
	gdapOK := outs[1].err == nil
	ix.complete = outs[0].err == nil && gdapOK
	ix.tenantErr = outs[0].err
	if outs[0].err != nil && !gdapOK {
		ix.err = &VendorsFailedError{Sources: ix.sources, Errs: []error{outs[0].err, outs[1].err}}
	}
	active := slices.DeleteFunc(slices.Clone(tenants), func(t model.Tenant) bool { return t.Status == model.TenantStatusRemoved })
	recs := make([]model.CustomerRecord, 0, len(active)+len(gdap))
	for _, g := range gdap {
		recs = append(recs, g.CustomerRecord())
	}
	withID := map[string]bool{}
	for _, t := range active {
		recs = append(recs, t.CustomerRecord())
		withID[t.ID] = t.MicrosoftTenantID != ""
	}
	ix.customers = Merge(recs)
	for _, c := range ix.customers {
		for _, ref := range c.References {
			if ref.Vendor == model.VendorCrayon && (gdapOK || withID[ref.ID]) {
				ix.byTenant[ref.ID] = c.ID
			}
		}
	}
	return ix
}

// tenantsOf lists the Crayon tenant ids of a gateway customer.
func (ix customerIndex) tenantsOf(customerID string) []string {
	var ids []string
	for _, c := range ix.customers {
		if c.ID != customerID {
			continue
		}
		for _, ref := range c.References {
			if ref.Vendor == model.VendorCrayon {
				ids = append(ids, ref.ID)
			}
		}
	}
	slices.Sort(ids)
	return ids
}

// List returns one page. Crayon's subscription listing is required (its
// error is returned as is); the customer lookups only fill customer_id,
// so their failure makes the answer incomplete, unless the caller filtered
// by customer and the customer's tenants cannot be known.
func (s *Subscriptions) List(ctx context.Context, q SubscriptionQuery) (SubscriptionPage, error) {
	ctx, cancel := vendorContext(ctx)
	defer cancel()
	var (
		ix   customerIndex
		done = make(chan struct{})
	)
	tenants := []string{q.TenantID}
	if q.CustomerID != "" {
		// The customer's tenants must be known before Crayon is asked.
		ix = s.index(ctx)
		close(done)
		switch {
		case ix.err != nil:
			return SubscriptionPage{Sources: ix.sources}, ix.err
		case ix.tenantErr != nil:
			// Without the tenant list the customer's tenants are unknown.
			return SubscriptionPage{Sources: ix.sources}, &VendorsFailedError{Sources: ix.sources, Errs: []error{ix.tenantErr}}
		}
		tenants = ix.tenantsOf(q.CustomerID)
		if q.TenantID != "" {
			tenants = slices.DeleteFunc(tenants, func(id string) bool { return id != q.TenantID })
		}
		if len(tenants) == 0 || q.Part >= len(tenants) {
			return SubscriptionPage{Items: []model.Subscription{}, Sources: ix.sources, Complete: ix.complete}, nil
		}
	} else {
		go func() { defer close(done); ix = s.index(ctx) }()
	}
	f := q.SubscriptionFilter
	f.TenantID = tenants[q.Part]
	type listed struct {
		items []model.Subscription
		total int64
	}
	items, src, err := timed(ctx, model.VendorCrayon, Live(func(ctx context.Context) (listed, error) {
		items, total, err := s.b.List(ctx, f)
		return listed{items, total}, err
	}))
	<-done
	sources := []Source{worst([]Source{src, ix.sources[0]}), ix.sources[1]}
	if err != nil {
		return SubscriptionPage{Sources: sources}, err
	}
	page := SubscriptionPage{Items: s.place(items.items, ix), Sources: sources, Complete: ix.complete}
	page.Next = next(q.Part, len(tenants), f, len(items.items), items.total)
	return page, nil
}

// next is the position after a page of n items of total: the next Crayon
// page, or the first page of the next tenant. A page shorter than asked
// while more remain means Crayon caps the page size: page numbers then
// count in its size, so nothing is skipped.
func next(part, parts int, f SubscriptionFilter, n int, total int64) *SubscriptionPosition {
	seen := int64(f.Page-1)*int64(f.PageSize) + int64(n)
	if n > 0 && seen < total {
		size := f.PageSize
		if n < size && seen%int64(n) == 0 {
			size = n
		}
		return &SubscriptionPosition{Part: part, Page: int(seen/int64(size)) + 1, PageSize: size}
	}
	if part+1 < parts {
		return &SubscriptionPosition{Part: part + 1, Page: 1}
	}
	return nil
}

// place fills each subscription's customer id (on a copy: items may be a
// cached answer).
func (s *Subscriptions) place(items []model.Subscription, ix customerIndex) []model.Subscription {
	out := slices.Clone(items)
	if out == nil {
		out = []model.Subscription{}
	}
	for i := range out {
		out[i].CustomerID = ix.byTenant[out[i].TenantID]
	}
	return out
}

// Get returns one subscription with its customer id.
func (s *Subscriptions) Get(ctx context.Context, id string) (model.Subscription, []Source, bool, error) {
	ctx, cancel := vendorContext(ctx)
	defer cancel()
	var ix customerIndex
	done := make(chan struct{})
	go func() { defer close(done); ix = s.index(ctx) }()
	sub, src, err := timed(ctx, model.VendorCrayon, Live(func(ctx context.Context) (model.Subscription, error) { return s.b.Get(ctx, id) }))
	<-done
	sources := []Source{worst([]Source{src, ix.sources[0]}), ix.sources[1]}
	if err != nil {
		return model.Subscription{}, sources, false, err
	}
	return s.place([]model.Subscription{sub}, ix)[0], sources, ix.complete, nil
}

// ProductTotal sums one product's subscriptions for the customer view.
type ProductTotal struct {
	ProductName   string `json:"product_name"`
	PartNumber    string `json:"part_number"`
	Subscriptions int    `json:"subscriptions"`
	// Quantity counts seats of every subscription; ActiveQuantity only
	// those of active ones (what the customer can use now).
	Quantity       int `json:"quantity"`
	ActiveQuantity int `json:"active_quantity"`
}

// SubscriptionSection lists a customer's subscriptions with totals per
// product (by part number).
type SubscriptionSection struct {
	Section
	Items  []model.Subscription `json:"items"`
	Totals []ProductTotal       `json:"totals"`
}

// productTotals sums subs per part number, in order of first appearance
// after sorting by product name.
func productTotals(subs []model.Subscription) []ProductTotal {
	out := []ProductTotal{}
	for _, s := range subs {
		key := s.PartNumber
		if key == "" {
			key = s.ProductName
		}
		i := slices.IndexFunc(out, func(t ProductTotal) bool {
			return t.PartNumber == key || (t.PartNumber == "" && t.ProductName == key)
		})
		if i < 0 {
			out = append(out, ProductTotal{ProductName: s.ProductName, PartNumber: s.PartNumber})
			i = len(out) - 1
		}
		out[i].Subscriptions++
		out[i].Quantity += s.Quantity
		if s.Status == model.SubscriptionActive {
			out[i].ActiveQuantity += s.Quantity
		}
	}
	slices.SortFunc(out, func(a, b ProductTotal) int {
		return cmp.Or(cmp.Compare(a.ProductName, b.ProductName), cmp.Compare(a.PartNumber, b.PartNumber))
	})
	return out
}

// subscriptionSection reads every subscription of the customer's tenants
// (concurrently, one walk per tenant) and sums them per product.
func subscriptionSection(ctx context.Context, all func(context.Context, string) ([]model.Subscription, error), tenants TenantSection) (SubscriptionSection, []Source) {
	sec := SubscriptionSection{Items: []model.Subscription{}, Totals: []ProductTotal{}}
	switch {
	case all == nil:
		sec.Section = notApplicable(model.VendorCrayon, "the gateway does not read subscriptions")
		return sec, nil
	case tenants.Status == StatusNotApplicable:
		sec.Section = notApplicable(model.VendorCrayon, tenants.Detail)
		return sec, nil
	case tenants.Status != upstream.StatusOK:
		sec.Section = Section{Vendor: model.VendorCrayon, Status: tenants.Status, Detail: "not read: the customer's Crayon tenants are unknown"}
		return sec, nil
	case len(tenants.Items) == 0:
		sec.Section = notApplicable(model.VendorCrayon, "the customer has no Crayon tenant")
		return sec, nil
	}
	got := make([][]model.Subscription, len(tenants.Items))
	var calls []call[struct{}]
	for i, t := range tenants.Items {
		calls = append(calls, store(model.VendorCrayon, &got[i], Live(func(ctx context.Context) ([]model.Subscription, error) { return all(ctx, t.ID) })))
	}
	outs := fanOut(ctx, calls)
	srcs := sourcesOf(outs)
	w := worst(srcs)
	sec.Section = sectionOf(w)
	if w.Status != upstream.StatusOK {
		return sec, srcs // a partial list would look complete
	}
	for _, subs := range got {
		sec.Items = append(sec.Items, subs...)
	}
	sec.Totals = productTotals(sec.Items)
	return sec, srcs
}
