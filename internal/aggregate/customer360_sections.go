package aggregate

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream"
)

// sections runs the second round: the wanted ones of agreements, licenses
// and booking records concurrently, filling v; it returns the round's
// sources. Each section fails as a whole: partial items would look
// complete.
func (s *CustomerViews) sections(ctx context.Context, id identity, v *CustomerView, want func(string) bool) []Source {
	var agreementSrcs, licenseSrcs, bookingSrcs []Source
	var wg sync.WaitGroup
	if want(SectionAgreements) {
		wg.Go(func() {
			sec, srcs := s.agreementSection(ctx, id)
			v.Agreements, agreementSrcs = &sec, srcs
		})
	}
	if want(SectionLicenses) {
		wg.Go(func() {
			sec, srcs := s.licenseSection(ctx, id)
			v.Licenses, licenseSrcs = &sec, srcs
		})
	}
	if want(SectionBookingRecords) {
		sec, srcs := s.bookingSection(ctx, id)
		v.BookingRecords, bookingSrcs = &sec, srcs
	}
	wg.Wait()
	return slices.Concat(agreementSrcs, licenseSrcs, bookingSrcs)
}

// agreementSection reads the consent state of each of the customer's
// Crayon tenants, one call per tenant.
func (s *CustomerViews) agreementSection(ctx context.Context, id identity) (AgreementSection, []Source) {
	sec := AgreementSection{Items: []TenantAgreements{}}
	switch {
	case id.tenants.Status == StatusNotApplicable:
		sec.Section = notApplicable(model.VendorCrayon, id.tenants.Detail)
		return sec, nil
	case id.tenants.Status != upstream.StatusOK:
		sec.Section = Section{Vendor: model.VendorCrayon, Status: id.tenants.Status,
			Detail: "not read: the customer's Crayon tenants are unknown"}
		return sec, nil
	case len(id.tenants.Items) == 0:
		sec.Section = notApplicable(model.VendorCrayon, "the customer has no Crayon tenant")
		return sec, nil
	}
	agreements, srcs, ok := readEach(ctx, &sec.Section, model.VendorCrayon, id.tenants.Items,
		LiveBy(func(ctx context.Context, t model.Tenant) ([]model.Agreement, error) { return s.b.Agreements(ctx, t.ID) }))
	if !ok {
		return sec, srcs
	}
	for i, t := range id.tenants.Items {
		as := agreements[i]
		if as == nil {
			as = []model.Agreement{}
		}
		sec.Items = append(sec.Items, TenantAgreements{TenantID: t.ID, TenantName: t.Name, Consented: len(as) > 0, Agreements: as})
	}
	return sec, srcs
}

// licenseSection finds the customer's DBSync licensed users: by the names
// the organization is known by, or by a booking person's e-mail (see the
// join rules in customer360_joins.go).
func (s *CustomerViews) licenseSection(ctx context.Context, id identity) (LicenseSection, []Source) {
	sec := LicenseSection{Items: []model.License{}}
	var (
		companies []string // one DBSync read per company name; "" reads all
		keep      func(model.License) bool
	)
	if id.bookings != nil {
		email := ""
		if c := id.customer.PrimaryContact; c != nil {
			email = strings.TrimSpace(c.Email)
		}
		if email == "" {
			sec.Section = notApplicable(model.VendorDBSync, "the booking record has no e-mail address")
			return sec, nil
		}
		// DBSync has no lookup by user; its list is bounded by the annual quota.
		companies = []string{""}
		keep = func(l model.License) bool { return strings.EqualFold(l.User, email) }
	} else {
		names := distinctFold(id.names)
		companies = names
		keep = func(l model.License) bool {
			return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, l.Company) })
		}
	}
	if len(companies) == 0 {
		return sec, nil
	}
	licenses, srcs, ok := readEach(ctx, &sec.Section, model.VendorDBSync, companies, LiveBy(s.b.Licenses))
	if !ok {
		return sec, srcs
	}
	seen := map[[2]string]bool{}
	for _, ls := range licenses {
		for _, l := range ls {
			k := [2]string{strings.ToLower(l.Company), strings.ToLower(l.User)}
			if keep(l) && !seen[k] {
				seen[k] = true
				sec.Items = append(sec.Items, l)
			}
		}
	}
	mayBeIncomplete(&sec.Section, id)
	return sec, srcs
}

// bookingSection finds the customer's BokaMera booking records: the
// identified person, or the persons of the organization's e-mail domains.
func (s *CustomerViews) bookingSection(ctx context.Context, id identity) (BookingSection, []Source) {
	if id.bookings != nil {
		return *id.bookings, nil
	}
	sec := BookingSection{Items: []model.BookingCustomer{}}
	domains := orgDomains(id.customer)
	if len(domains) == 0 {
		sec.Section = notApplicable(model.VendorBokaMera, "no e-mail domain of the organization is known")
		return sec, nil
	}
	bookings, srcs, ok := readEach(ctx, &sec.Section, model.VendorBokaMera, domains, s.b.SearchBookings)
	if !ok {
		return sec, srcs
	}
	seen := map[string]bool{}
	for _, bs := range bookings {
		for _, b := range bs {
			if slices.Contains(domains, emailDomain(b.Email)) && !seen[b.ID] {
				seen[b.ID] = true
				sec.Items = append(sec.Items, b)
			}
		}
	}
	slices.SortFunc(sec.Items, func(a, b model.BookingCustomer) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Email), strings.ToLower(b.Email)), cmp.Compare(a.ID, b.ID))
	})
	mayBeIncomplete(&sec.Section, id)
	return sec, srcs
}

// readEach makes one vendor read per key, concurrently, and sets the
// section's status to the worst of them; ok is false when any failed, and
// then the section stays empty: partial items would look complete.
func readEach[K, T any](ctx context.Context, sec *Section, vendor string, keys []K, read ReadBy[K, T]) (vals []T, srcs []Source, ok bool) {
	vals = make([]T, len(keys))
	calls := make([]call[struct{}], len(keys))
	for i, k := range keys {
		calls[i] = store(vendor, &vals[i], func(ctx context.Context) (T, Freshness, error) { return read(ctx, k) })
	}
	srcs = sourcesOf(fanOut(ctx, calls))
	w := worst(srcs)
	*sec = sectionOf(w)
	return vals, srcs, w.Status == upstream.StatusOK
}

// mayBeIncomplete notes on a section found by the names and domains the
// identifying vendors know that, with one of them down, some may be missed.
func mayBeIncomplete(sec *Section, id identity) {
	var missing []string
	for _, src := range id.sources {
		if src.Status != upstream.StatusOK {
			missing = append(missing, src.Vendor)
		}
	}
	if len(missing) > 0 && sec.Status == upstream.StatusOK {
		sec.Detail = "may be incomplete: " + strings.Join(missing, ", ") +
			" did not answer, so some of the organization's names or e-mail domains are unknown"
	}
}
