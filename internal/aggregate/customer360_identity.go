package aggregate

import (
	"cmp"
	"context"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream"
)

// identifyShare is the part of the request's remaining time the identify
// round may use, so a hanging vendor there still leaves the sections time.
const identifyShare = 0.6

var (
	guidRE      = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	crayonIDRE  = regexp.MustCompile(`^[1-9][0-9]{0,9}$`)
	maxCrayonID = int64(1<<31 - 1) // Crayon ids are Int32
)

// CustomerKey is a parsed customer id: the record that founds the customer.
type CustomerKey struct {
	Kind string // KeyMicrosoft, KeyCrayon or KeyBokaMera
	ID   string // Microsoft tenant id (lower case), Crayon tenant id or BokaMera customer id
}

// String is the customer id the key was parsed from, in canonical form.
func (k CustomerKey) String() string { return k.Kind + "-" + k.ID }

// ParseCustomerID reads an id as CustomerID makes them: "ms-<Microsoft
// tenant id>", "crayon-<tenant id>" or "bokamera-<customer id>". GDAP
// records always carry a tenant id, so "gdap-" ids are never issued.
func ParseCustomerID(id string) (CustomerKey, bool) {
	kind, rest, ok := strings.Cut(id, "-")
	if !ok {
		return CustomerKey{}, false
	}
	switch kind {
	case KeyMicrosoft:
		if guidRE.MatchString(rest) {
			return CustomerKey{Kind: kind, ID: strings.ToLower(rest)}, true
		}
	case KeyCrayon:
		if n, err := strconv.ParseInt(rest, 10, 64); err == nil && crayonIDRE.MatchString(rest) && n <= maxCrayonID {
			return CustomerKey{Kind: kind, ID: rest}, true
		}
	case KeyBokaMera:
		if guidRE.MatchString(rest) {
			return CustomerKey{Kind: kind, ID: rest}, true
		}
	}
	return CustomerKey{}, false
}

// CustomerNotFoundError says every vendor that could hold the customer
// answered, and none knows it.
type CustomerNotFoundError struct {
	ID string
}

func (e *CustomerNotFoundError) Error() string { return "no customer " + e.ID }

// identity is what the identify round found.
type identity struct {
	customer model.Customer
	gdap     GDAPSection
	tenants  TenantSection
	// bookings is set when identification already read the booking record.
	bookings *BookingSection
	// names are the names vendors know the organization by.
	names   []string
	sources []Source
}

// shareOf gives ctx a deadline at share of its remaining time.
func shareOf(ctx context.Context, share float64) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, time.Duration(float64(time.Until(dl))*share))
}

// failed turns the identify round's failures into the error for a customer
// that was not found: not found only if every vendor answered.
func failed(id string, outs []outcome[struct{}]) error {
	var errs []error
	for _, o := range outs {
		if o.err != nil {
			errs = append(errs, o.err)
		}
	}
	if len(errs) == 0 {
		return &CustomerNotFoundError{ID: id}
	}
	return &VendorsFailedError{Sources: sourcesOf(outs), Errs: errs}
}

func (s *CustomerViews) identifyMicrosoft(ctx context.Context, key CustomerKey) (identity, error) {
	var (
		gdap    []model.GDAPCustomer
		tenants []model.Tenant
	)
	outs := fanOut(ctx, []call[struct{}]{
		store(model.VendorGDAP, &gdap, s.b.GDAPCustomers),
		store(model.VendorCrayon, &tenants, s.b.CrayonTenants),
	})
	// Removed tenants found no customer, as in GET /v1/customers.
	tenants = slices.DeleteFunc(tenants, func(t model.Tenant) bool { return t.Status == model.TenantStatusRemoved })
	id, ok := s.resolve(key.String(), gdap, tenants, outs[0].source, outs[1].source)
	if !ok {
		return identity{}, failed(key.String(), outs)
	}
	return id, nil
}

func (s *CustomerViews) identifyCrayon(ctx context.Context, key CustomerKey) (identity, error) {
	var (
		gdap   []model.GDAPCustomer
		tenant model.Tenant
	)
	outs := fanOut(ctx, []call[struct{}]{
		store(model.VendorGDAP, &gdap, s.b.GDAPCustomers),
		store(model.VendorCrayon, &tenant, func(ctx context.Context) (model.Tenant, Freshness, error) { return s.b.CrayonTenant(ctx, key.ID) }),
	})
	if err := outs[1].err; err != nil {
		if errors.Is(err, upstream.ErrNotFound) {
			return identity{}, &CustomerNotFoundError{ID: key.String()}
		}
		return identity{}, &VendorsFailedError{Sources: sourcesOf(outs), Errs: []error{err}}
	}
	if tenant.Status == model.TenantStatusRemoved {
		return identity{}, &CustomerNotFoundError{ID: key.String()}
	}
	// Only what merges with this tenant matters; another Crayon tenant
	// sharing its domain (not read here) could still claim it in the list.
	id, ok := s.resolve(key.String(), gdap, []model.Tenant{tenant}, outs[0].source, outs[1].source)
	if ok {
		return id, nil
	}
	// The tenant is merged into a customer listed under another id (its
	// Microsoft tenant's): identify that customer in full, so the view is
	// the one its own id gives.
	for _, c := range Merge(records(gdap, []model.Tenant{tenant})) {
		if !slices.Contains(c.References, model.VendorRef{Vendor: model.VendorCrayon, ID: tenant.ID}) {
			continue
		}
		if canonical, ok := ParseCustomerID(c.ID); ok && canonical.Kind == KeyMicrosoft {
			return s.identifyMicrosoft(ctx, canonical)
		}
	}
	return identity{}, &CustomerNotFoundError{ID: key.String()}
}

func (s *CustomerViews) identifyBooking(ctx context.Context, key CustomerKey) (identity, error) {
	var b model.BookingCustomer
	outs := fanOut(ctx, []call[struct{}]{
		store(model.VendorBokaMera, &b, func(ctx context.Context) (model.BookingCustomer, Freshness, error) {
			return s.b.BookingCustomer(ctx, key.ID)
		}),
	})
	if err := outs[0].err; err != nil {
		if errors.Is(err, upstream.ErrNotFound) {
			return identity{}, &CustomerNotFoundError{ID: key.String()}
		}
		return identity{}, &VendorsFailedError{Sources: sourcesOf(outs), Errs: []error{err}}
	}
	// A booking person never merges with anything (no tenant, no domain).
	c := Merge([]model.CustomerRecord{b.CustomerRecord()})[0]
	const why = "a booking-system person has no Microsoft tenant"
	return identity{
		customer: c,
		gdap:     GDAPSection{Section: notApplicable(model.VendorGDAP, why)},
		tenants:  TenantSection{Section: notApplicable(model.VendorCrayon, why), Items: []model.Tenant{}},
		bookings: &BookingSection{Section: sectionOf(outs[0].source), Items: []model.BookingCustomer{b}},
		sources:  sourcesOf(outs),
	}, nil
}

func records(gdap []model.GDAPCustomer, tenants []model.Tenant) []model.CustomerRecord {
	recs := make([]model.CustomerRecord, 0, len(gdap)+len(tenants))
	for _, g := range gdap {
		recs = append(recs, g.CustomerRecord())
	}
	for _, t := range tenants {
		recs = append(recs, t.CustomerRecord())
	}
	return recs
}

// resolve merges the GDAP and Crayon records as GET /v1/customers does and
// picks the customer with the wanted id, with its vendor records.
func (s *CustomerViews) resolve(wantID string, gdap []model.GDAPCustomer, tenants []model.Tenant, gdapSrc, crayonSrc Source) (identity, bool) {
	merged := Merge(records(gdap, tenants))
	i := slices.IndexFunc(merged, func(c model.Customer) bool { return c.ID == wantID })
	if i < 0 {
		return identity{}, false
	}
	gdapOf := func(id string) (model.GDAPCustomer, bool) {
		j := slices.IndexFunc(gdap, func(g model.GDAPCustomer) bool { return g.MicrosoftTenantID == id })
		if j < 0 {
			return model.GDAPCustomer{}, false
		}
		return gdap[j], true
	}
	tenantOf := func(id string) (model.Tenant, bool) {
		j := slices.IndexFunc(tenants, func(t model.Tenant) bool { return t.ID == id })
		if j < 0 {
			return model.Tenant{}, false
		}
		return tenants[j], true
	}
	return identityOf(merged[i], gdapOf, tenantOf, gdapSrc, crayonSrc), true
}

// identityOf gathers the vendor records of a merged customer, whether
// they are looked up in full vendor lists or in a snapshot's indexes.
func identityOf(c model.Customer, gdapOf func(string) (model.GDAPCustomer, bool), tenantOf func(string) (model.Tenant, bool),
	gdapSrc, crayonSrc Source) identity {
	id := identity{
		customer: c,
		gdap:     GDAPSection{Section: sectionOf(gdapSrc)},
		tenants:  TenantSection{Section: sectionOf(crayonSrc), Items: []model.Tenant{}},
		names:    []string{c.Name},
		sources:  []Source{gdapSrc, crayonSrc},
	}
	for _, ref := range c.References {
		switch ref.Vendor {
		case model.VendorGDAP:
			if g, ok := gdapOf(ref.ID); ok {
				id.gdap.Item = &g
				id.names = append(id.names, g.CompanyName)
			}
		case model.VendorCrayon:
			if t, ok := tenantOf(ref.ID); ok {
				t.GDAP = nil // the view has its own GDAP section
				id.tenants.Items = append(id.tenants.Items, t)
				id.names = append(id.names, t.Name)
			}
		}
	}
	slices.SortFunc(id.tenants.Items, func(a, b model.Tenant) int {
		x, _ := strconv.Atoi(a.ID)
		y, _ := strconv.Atoi(b.ID)
		return cmp.Compare(x, y)
	})
	return id
}
