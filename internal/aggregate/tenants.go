package aggregate

import (
	"context"
	"slices"
	"strings"

	"github.com/partnerhub/gateway/internal/model"
)

// TenantQuery filters a tenant listing; zero values are omitted. Type is
// the normalized tenant type (model.TenantTypeT1 / T2) or "".
type TenantQuery struct {
	OrganizationID, PublisherID int
	Type, DomainPrefix, Q       string
	// Page is 1-based, as Crayon pages.
	Page, PageSize int
}

// TenantBackend is what the tenant service needs from the vendors; run.go
// adapts the Crayon and GDAP clients to it.
type TenantBackend struct {
	List          ReadBy[TenantQuery, TenantListing]
	Get           ReadBy[string, model.Tenant]
	GDAPCustomers Read[[]model.GDAPCustomer]
}

// TenantListing is one page of Crayon's tenant listing: the items and
// Crayon's count of every match.
type TenantListing struct {
	Items []model.Tenant
	Total int64
}

// Tenants serves Crayon customer tenants enriched with GDAP's view of the
// same Microsoft tenant.
type Tenants struct{ b TenantBackend }

// NewTenants returns the tenant service.
func NewTenants(b TenantBackend) *Tenants { return &Tenants{b: b} }

// TenantPage is one Crayon page of tenants.
type TenantPage struct {
	Items    []model.Tenant
	Total    int64
	Sources  []Source
	Complete bool
}

// List returns one page. Crayon is required (its error is returned as is);
// GDAP only enriches, so its failure marks the answer incomplete.
func (s *Tenants) List(ctx context.Context, q TenantQuery) (TenantPage, error) {
	var listing TenantListing
	crayonSrc, gdapSrc, gdap, err := s.withGDAP(ctx, func(ctx context.Context) (f Freshness, err error) {
		listing, f, err = s.b.List(ctx, q)
		return f, err
	})
	items, total := listing.Items, listing.Total
	if err != nil {
		return TenantPage{Sources: []Source{crayonSrc, gdapSrc}}, err
	}
	// items may be a cached answer shared with other callers: enrich a copy.
	items = slices.Clone(items)
	for i := range items {
		items[i].GDAP = matchGDAP(items[i], gdap)
	}
	return TenantPage{Items: items, Total: total, Sources: []Source{crayonSrc, gdapSrc}, Complete: allOK([]Source{crayonSrc, gdapSrc})}, nil
}

// Get returns one tenant with its GDAP view.
func (s *Tenants) Get(ctx context.Context, id string) (model.Tenant, []Source, bool, error) {
	var t model.Tenant
	crayonSrc, gdapSrc, gdap, err := s.withGDAP(ctx, func(ctx context.Context) (f Freshness, err error) {
		t, f, err = s.b.Get(ctx, id)
		return f, err
	})
	sources := []Source{crayonSrc, gdapSrc}
	if err != nil {
		return model.Tenant{}, sources, false, err
	}
	t.GDAP = matchGDAP(t, gdap)
	return t, sources, allOK(sources), nil
}

// withGDAP runs the Crayon call and GDAP's customer list concurrently under
// one vendor budget.
func (s *Tenants) withGDAP(ctx context.Context, crayon func(context.Context) (Freshness, error)) (crayonSrc, gdapSrc Source, gdap []model.GDAPCustomer, err error) {
	ctx, cancel := vendorContext(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		gdap, gdapSrc, _ = timed(ctx, model.VendorGDAP, s.b.GDAPCustomers)
	}()
	_, crayonSrc, err = timed(ctx, model.VendorCrayon, func(ctx context.Context) (struct{}, Freshness, error) {
		f, err := crayon(ctx)
		return struct{}{}, f, err
	})
	<-done
	return crayonSrc, gdapSrc, gdap, err
}

// matchGDAP finds GDAP's record of t's Microsoft tenant: by tenant id, then
// by onmicrosoft domain (Crayon sometimes lacks the id), as Merge joins.
func matchGDAP(t model.Tenant, gdap []model.GDAPCustomer) *model.GDAPCustomer {
	for i, g := range gdap {
		if t.MicrosoftTenantID != "" && strings.EqualFold(g.MicrosoftTenantID, t.MicrosoftTenantID) {
			return &gdap[i]
		}
	}
	for i, g := range gdap {
		if t.Domain != "" && strings.EqualFold(g.Domain, t.Domain) {
			return &gdap[i]
		}
	}
	return nil
}
