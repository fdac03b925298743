package aggregate

import (
	"context"
	"slices"
	"time"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream"
)

// The customer 360 view (GET /v1/customers/{id}) is built in two rounds,
// each fanned out concurrently under the request budget:
//
//  1. Identify: read what founds the customer id. An "ms-<tenant>" id reads
//     GDAP's customers and Crayon's tenants and merges them with Merge, so
//     the customer is exactly the one GET /v1/customers lists (Crayon cannot
//     look a tenant up by its Microsoft tenant id). A "crayon-<id>" id reads
//     that one tenant plus GDAP's customers (to find out whether the tenant
//     joins a GDAP customer, which would give it another id); a
//     "bokamera-<id>" id reads that one booking customer.
//  2. Sections: what hangs off the identified customer, each from its own
//     vendor: Crayon agreement consents per tenant, DBSync licensed users,
//     BokaMera booking records. One failing vendor blanks only its section.
//
//
// The identify round lives in customer360_identity.go, the sections in
// customer360_sections.go, the join rules in customer360_joins.go.

// Kinds of customer ids (CustomerKey.Kind).
const (
	KeyMicrosoft = "ms"
	KeyCrayon    = model.VendorCrayon
	KeyBokaMera  = model.VendorBokaMera
)

// StatusNotApplicable is a section's status when nothing links the customer
// to the section's vendor, so the vendor was not asked.
const StatusNotApplicable = "not_applicable"

// CustomerViewBackend is what the 360 view needs from the vendors; run.go
// adapts the vendor clients to it.
type CustomerViewBackend struct {
	GDAPCustomers Read[[]model.GDAPCustomer]
	// CrayonTenants lists every customer tenant of the organization.
	CrayonTenants Read[[]model.Tenant]
	// CrayonTenant reads one tenant; an unknown id is upstream.ErrNotFound.
	CrayonTenant ReadBy[string, model.Tenant]
	Agreements   func(ctx context.Context, tenantID string) ([]model.Agreement, error)
	// Licenses lists DBSync licensed users of company ("" for all).
	Licenses func(ctx context.Context, company string) ([]model.License, error)
	// BookingCustomer reads one booking customer; unknown is upstream.ErrNotFound.
	BookingCustomer ReadBy[string, model.BookingCustomer]
	// SearchBookings lists booking customers whose name or e-mail contains text.
	SearchBookings ReadBy[string, []model.BookingCustomer]
	// Snapshot, when set, is the current customer snapshot: customers are
	// identified from its indexes instead of from full vendor lists.
	Snapshot func(ctx context.Context) (*Snapshot, error)
	// Extra feeds the sections of customer360_extra.go.
	Extra ExtraBackend
}

// CustomerViews serves the customer 360 view.
type CustomerViews struct{ b CustomerViewBackend }

// NewCustomerViews returns the service over b.
func NewCustomerViews(b CustomerViewBackend) *CustomerViews { return &CustomerViews{b: b} }

// Names of the view's sections, as GET /v1/customers/{id}?include= names
// them, in the order the view lists them.
const (
	SectionGDAP              = "gdap"
	SectionTenants           = "tenants"
	SectionAgreements        = "agreements"
	SectionLicenses          = "licenses"
	SectionBookingRecords    = "booking_records"
	SectionSubscriptions     = "subscriptions"
	SectionGDAPRelationships = "gdap_relationships"
)

// SectionNames lists every section of the view.
var SectionNames = []string{SectionGDAP, SectionTenants, SectionAgreements, SectionLicenses,
	SectionBookingRecords, SectionSubscriptions, SectionGDAPRelationships}

// Section says where a part of the view came from and how that went:
// Status is a source status (ok, error, timeout, unavailable) or
// StatusNotApplicable. AsOf is when the section's data was read from its
// vendor: older than the answer when it came from the read cache or the
// snapshot; the answer's time when the vendor was not asked or failed.
type Section struct {
	Vendor string    `json:"vendor"`
	Status string    `json:"status"`
	Detail string    `json:"detail,omitempty"`
	AsOf   time.Time `json:"as_of"`
}

// GDAPSection is GDAP's record of the customer's Microsoft tenant; Item is
// nil when GDAP does not know it or did not answer.
type GDAPSection struct {
	Section
	Item *model.GDAPCustomer `json:"item"`
}

// TenantSection lists the customer's Crayon customer tenants.
type TenantSection struct {
	Section
	Items []model.Tenant `json:"items"`
}

// TenantAgreements is the agreement consent state of one Crayon tenant.
type TenantAgreements struct {
	TenantID   string `json:"tenant_id"`
	TenantName string `json:"tenant_name"`
	// Consented is false when the tenant has consented to no agreement.
	Consented  bool              `json:"consented"`
	Agreements []model.Agreement `json:"agreements"`
}

// AgreementSection holds the consent state of each of the customer's tenants.
type AgreementSection struct {
	Section
	Items []TenantAgreements `json:"items"`
}

// LicenseSection lists the customer's DBSync licensed users.
type LicenseSection struct {
	Section
	Items []model.License `json:"items"`
}

// BookingSection lists the customer's BokaMera booking records.
type BookingSection struct {
	Section
	Items []model.BookingCustomer `json:"items"`
}

// CustomerView is the customer 360 view. Every section asked for is
// present (all of them unless the caller named some): a failed vendor
// leaves its section's items empty and says why. A section not asked for
// is nil, and its vendor is not called.
type CustomerView struct {
	Customer       model.Customer    `json:"customer"`
	GDAP           *GDAPSection      `json:"gdap,omitempty"`
	Tenants        *TenantSection    `json:"tenants,omitempty"`
	Agreements     *AgreementSection `json:"agreements,omitempty"`
	Licenses       *LicenseSection   `json:"licenses,omitempty"`
	BookingRecords *BookingSection   `json:"booking_records,omitempty"`
	extraSections
	// Sources has one entry per vendor asked (durations add up the rounds).
	Sources []Source `json:"sources"`
	// Complete is true when every section present that applies is ok.
	Complete bool `json:"complete"`
}

// sectionList is the view's present sections.
func (v *CustomerView) sectionList() []*Section {
	var out []*Section
	if v.GDAP != nil {
		out = append(out, &v.GDAP.Section)
	}
	if v.Tenants != nil {
		out = append(out, &v.Tenants.Section)
	}
	if v.Agreements != nil {
		out = append(out, &v.Agreements.Section)
	}
	if v.Licenses != nil {
		out = append(out, &v.Licenses.Section)
	}
	if v.BookingRecords != nil {
		out = append(out, &v.BookingRecords.Section)
	}
	if v.Subscriptions != nil {
		out = append(out, &v.Subscriptions.Section)
	}
	if v.GDAPRelationships != nil {
		out = append(out, &v.GDAPRelationships.Section)
	}
	return out
}

// Get builds the view of the customer key names, with the sections named
// in include (every section when include is empty). The customer is always
// identified first; only the vendors of the included sections are asked
// beyond that. An id no vendor knows is a *CustomerNotFoundError; when the
// vendors that could identify the customer failed, a *VendorsFailedError.
// A key naming a vendor record merged into another customer (an alias)
// gives that customer's view: the view's customer id is then not key's.
func (s *CustomerViews) Get(ctx context.Context, key CustomerKey, include ...string) (CustomerView, error) {
	want := func(section string) bool { return len(include) == 0 || slices.Contains(include, section) }
	idCtx, cancel := shareOf(ctx, identifyShare)
	var (
		id  identity
		err error
	)
	handled := false
	if s.b.Snapshot != nil {
		id, handled, err = s.identifySnapshot(idCtx, key)
	}
	switch {
	case handled:
	case key.Kind == KeyMicrosoft:
		id, err = s.identifyMicrosoft(idCtx, key)
	case key.Kind == KeyCrayon:
		id, err = s.identifyCrayon(idCtx, key)
	case key.Kind == KeyBokaMera:
		id, err = s.identifyBooking(idCtx, key)
	default:
		err = &CustomerNotFoundError{ID: key.String()}
	}
	cancel()
	if err != nil {
		return CustomerView{}, err
	}
	v := CustomerView{Customer: id.customer}
	if want(SectionGDAP) {
		v.GDAP = &id.gdap
	}
	if want(SectionTenants) {
		v.Tenants = &id.tenants
	}
	extra := s.startExtra(ctx, id, &v, want) // beside the sections below
	sections := s.sections(ctx, id, &v, want)
	v.Sources = mergeSources(id.sources, append(sections, extra()...))
	v.Complete = true
	now := time.Now().UTC()
	for _, sec := range v.sectionList() {
		// Unknown does not count: nothing the vendor could give is missing.
		if sec.Status != upstream.StatusOK && sec.Status != StatusNotApplicable && sec.Status != StatusUnknown {
			v.Complete = false
		}
		if sec.AsOf.IsZero() {
			sec.AsOf = now // nothing was read: the section's state is as of the answer
		}
	}
	return v, nil
}

// store runs fn as a fan-out call whose result is kept by the closure;
// fanOut waits for every call, so reading it afterwards is safe.
func store[T any](vendor string, dst *T, fn Read[T]) call[struct{}] {
	return call[struct{}]{vendor: vendor, fn: func(ctx context.Context) (struct{}, Freshness, error) {
		v, f, err := fn(ctx)
		if err == nil {
			*dst = v
		}
		return struct{}{}, f, err
	}}
}

func sourcesOf(outs []outcome[struct{}]) []Source {
	out := make([]Source, len(outs))
	for i, o := range outs {
		out[i] = o.source
	}
	return out
}

func sectionOf(src Source) Section {
	sec := Section{Vendor: src.Vendor, Status: src.Status, Detail: src.Detail}
	if src.Status == upstream.StatusOK || src.Stale { // data was read
		sec.AsOf = src.asOf.UTC()
	}
	return sec
}

func notApplicable(vendor, detail string) Section {
	return Section{Vendor: vendor, Status: StatusNotApplicable, Detail: detail}
}

// statusRank orders source statuses by how bad they are.
var statusRank = map[string]int{upstream.StatusOK: 0, upstream.StatusUnavailable: 1, upstream.StatusTimeout: 2, upstream.StatusError: 3}

// worst is the worst of several calls to one vendor, with its detail; its
// duration is the longest, as the calls ran concurrently.
func worst(srcs []Source) Source {
	w := srcs[0]
	for _, s := range srcs[1:] {
		if statusRank[s.Status] > statusRank[w.Status] {
			w.Status, w.Detail = s.Status, s.Detail
		}
		w.DurationMS = max(w.DurationMS, s.DurationMS)
		w.Stale = w.Stale || s.Stale
		w.AgeMS = max(w.AgeMS, s.AgeMS) // the oldest part
		w.asOf = oldest(w.asOf, s.asOf)
	}
	return w
}

// mergeSources gives one source per vendor over the rounds: the worst
// status, and the time spent on the vendor (the longest call of a round,
// added up over the rounds, which ran one after the other).
func mergeSources(rounds ...[]Source) []Source {
	var out []Source
	for _, round := range rounds {
		var vendors []string
		byVendor := map[string][]Source{}
		for _, s := range round {
			if _, ok := byVendor[s.Vendor]; !ok {
				vendors = append(vendors, s.Vendor)
			}
			byVendor[s.Vendor] = append(byVendor[s.Vendor], s)
		}
		for _, vendor := range vendors {
			w := worst(byVendor[vendor])
			i := slices.IndexFunc(out, func(s Source) bool { return s.Vendor == vendor })
			if i < 0 {
				out = append(out, w)
				continue
			}
			prev := out[i]
			out[i] = worst([]Source{prev, w})
			out[i].DurationMS = prev.DurationMS + w.DurationMS
		}
	}
	return out
}
