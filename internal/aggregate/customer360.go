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
// Join rules for vendors that hold no Microsoft tenant id:
//
//   - DBSync licensed users of an organization: users whose company name
//     equals, case-insensitively, a name a vendor knows the organization by
//     (GDAP's company name, Crayon's tenant names). For a booking-system
//     person: users whose user name equals the person's e-mail address,
//     case-insensitively. Names are all DBSync keeps, so a company renamed
//     at one vendor only is not found.
//   - BokaMera booking records of an organization: persons whose e-mail
//     domain equals one of the organization's domains: its onmicrosoft
//     domain, and the domain of its primary contact's e-mail unless that is
//     a public mail provider (then it says nothing about the organization).
//     The contact's domain is an inference: a contact at another firm would
//     bring that firm's people.

// Kinds of customer ids (CustomerKey.Kind).
const (
	KeyMicrosoft = "ms"
	KeyCrayon    = model.VendorCrayon
	KeyBokaMera  = model.VendorBokaMera
)

// StatusNotApplicable is a section's status when nothing links the customer
// to the section's vendor, so the vendor was not asked.
const StatusNotApplicable = "not_applicable"

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
	// CanonicalID is set when ID names a vendor record that belongs to a
	// customer listed under another id.
	CanonicalID string
}

func (e *CustomerNotFoundError) Error() string {
	if e.CanonicalID != "" {
		return "customer " + e.ID + " is listed as " + e.CanonicalID
	}
	return "no customer " + e.ID
}

// CustomerViewBackend is what the 360 view needs from the vendors; run.go
// adapts the vendor clients to it.
type CustomerViewBackend struct {
	GDAPCustomers func(ctx context.Context) ([]model.GDAPCustomer, error)
	// CrayonTenants lists every customer tenant of the organization.
	CrayonTenants func(ctx context.Context) ([]model.Tenant, error)
	// CrayonTenant reads one tenant; an unknown id is upstream.ErrNotFound.
	CrayonTenant func(ctx context.Context, id string) (model.Tenant, error)
	Agreements   func(ctx context.Context, tenantID string) ([]model.Agreement, error)
	// Licenses lists DBSync licensed users of company ("" for all).
	Licenses func(ctx context.Context, company string) ([]model.License, error)
	// BookingCustomer reads one booking customer; unknown is upstream.ErrNotFound.
	BookingCustomer func(ctx context.Context, id string) (model.BookingCustomer, error)
	// SearchBookings lists booking customers whose name or e-mail contains text.
	SearchBookings func(ctx context.Context, text string) ([]model.BookingCustomer, error)
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

// Section says where a part of the view came from and how that went:
// Status is a source status (ok, error, timeout, unavailable) or
// StatusNotApplicable.
type Section struct {
	Vendor string `json:"vendor"`
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
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

// CustomerView is the customer 360 view. Every section is always present:
// a failed vendor leaves its section's items empty and says why.
type CustomerView struct {
	Customer       model.Customer   `json:"customer"`
	GDAP           GDAPSection      `json:"gdap"`
	Tenants        TenantSection    `json:"tenants"`
	Agreements     AgreementSection `json:"agreements"`
	Licenses       LicenseSection   `json:"licenses"`
	BookingRecords BookingSection   `json:"booking_records"`
	extraSections
	// Sources has one entry per vendor asked (durations add up the rounds).
	Sources []Source `json:"sources"`
	// Complete is true when every section that applies is ok.
	Complete bool `json:"complete"`
}

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

// Get builds the view of the customer key names. An id no vendor knows is
// a *CustomerNotFoundError; when the vendors that could identify the
// customer failed, a *VendorsFailedError.
func (s *CustomerViews) Get(ctx context.Context, key CustomerKey) (CustomerView, error) {
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
	v := CustomerView{Customer: id.customer, GDAP: id.gdap, Tenants: id.tenants}
	extra := s.startExtra(ctx, id, &v) // beside the sections below
	sections := s.sections(ctx, id, &v)
	v.Sources = mergeSources(id.sources, append(sections, extra()...))
	v.Complete = true
	for _, sec := range append([]Section{v.GDAP.Section, v.Tenants.Section, v.Agreements.Section, v.Licenses.Section, v.BookingRecords.Section}, v.counted()...) {
		if sec.Status != upstream.StatusOK && sec.Status != StatusNotApplicable {
			v.Complete = false
		}
	}
	return v, nil
}

// shareOf gives ctx a deadline at share of its remaining time.
func shareOf(ctx context.Context, share float64) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, time.Duration(float64(time.Until(dl))*share))
}

// store runs fn as a fan-out call whose result is kept by the closure;
// fanOut waits for every call, so reading it afterwards is safe.
func store[T any](vendor string, dst *T, fn func(context.Context) (T, error)) call[struct{}] {
	return call[struct{}]{vendor: vendor, fn: func(ctx context.Context) (struct{}, error) {
		v, err := fn(ctx)
		if err == nil {
			*dst = v
		}
		return struct{}{}, err
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
	return Section{Vendor: src.Vendor, Status: src.Status, Detail: src.Detail}
}

func notApplicable(vendor, detail string) Section {
	return Section{Vendor: vendor, Status: StatusNotApplicable, Detail: detail}
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
		store(model.VendorCrayon, &tenant, func(ctx context.Context) (model.Tenant, error) { return s.b.CrayonTenant(ctx, key.ID) }),
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
	if !ok {
		canonical := ""
		for _, c := range Merge(records(gdap, []model.Tenant{tenant})) {
			if slices.Contains(c.References, model.VendorRef{Vendor: model.VendorCrayon, ID: tenant.ID}) {
				canonical = c.ID
			}
		}
		return identity{}, &CustomerNotFoundError{ID: key.String(), CanonicalID: canonical}
	}
	return id, nil
}

func (s *CustomerViews) identifyBooking(ctx context.Context, key CustomerKey) (identity, error) {
	var b model.BookingCustomer
	outs := fanOut(ctx, []call[struct{}]{
		store(model.VendorBokaMera, &b, func(ctx context.Context) (model.BookingCustomer, error) { return s.b.BookingCustomer(ctx, key.ID) }),
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
	c := merged[i]
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
			if j := slices.IndexFunc(gdap, func(g model.GDAPCustomer) bool { return g.MicrosoftTenantID == ref.ID }); j >= 0 {
				g := gdap[j]
				id.gdap.Item = &g
				id.names = append(id.names, g.CompanyName)
			}
		case model.VendorCrayon:
			if j := slices.IndexFunc(tenants, func(t model.Tenant) bool { return t.ID == ref.ID }); j >= 0 {
				id.tenants.Items = append(id.tenants.Items, tenants[j])
				id.names = append(id.names, tenants[j].Name)
			}
		}
	}
	slices.SortFunc(id.tenants.Items, func(a, b model.Tenant) int {
		x, _ := strconv.Atoi(a.ID)
		y, _ := strconv.Atoi(b.ID)
		return cmp.Compare(x, y)
	})
	return id, true
}

// sections runs the second round: agreements, licenses and booking records
// concurrently, filling v; it returns the round's sources.
func (s *CustomerViews) sections(ctx context.Context, id identity, v *CustomerView) []Source {
	var calls []call[struct{}]
	// Each section's calls, by index range into calls.
	type span struct{ from, to int }
	add := func(cs ...call[struct{}]) span {
		from := len(calls)
		calls = append(calls, cs...)
		return span{from, len(calls)}
	}

	// Agreements: one call per tenant.
	v.Agreements = AgreementSection{Items: []TenantAgreements{}}
	agreements := make([][]model.Agreement, len(id.tenants.Items))
	var agreementCalls span
	switch {
	case id.tenants.Status == StatusNotApplicable:
		v.Agreements.Section = notApplicable(model.VendorCrayon, id.tenants.Detail)
	case id.tenants.Status != upstream.StatusOK:
		v.Agreements.Section = Section{Vendor: model.VendorCrayon, Status: id.tenants.Status,
			Detail: "not read: the customer's Crayon tenants are unknown"}
	case len(id.tenants.Items) == 0:
		v.Agreements.Section = notApplicable(model.VendorCrayon, "the customer has no Crayon tenant")
	default:
		var cs []call[struct{}]
		for i, t := range id.tenants.Items {
			cs = append(cs, store(model.VendorCrayon, &agreements[i], func(ctx context.Context) ([]model.Agreement, error) {
				return s.b.Agreements(ctx, t.ID)
			}))
		}
		agreementCalls = add(cs...)
	}

	// Licenses: per organization name, or by the person's e-mail.
	v.Licenses = LicenseSection{Items: []model.License{}}
	var (
		licenses     [][]model.License
		licenseCalls span
		keep         func(model.License) bool
	)
	switch {
	case id.bookings != nil:
		email := ""
		if c := id.customer.PrimaryContact; c != nil {
			email = strings.TrimSpace(c.Email)
		}
		if email == "" {
			v.Licenses.Section = notApplicable(model.VendorDBSync, "the booking record has no e-mail address")
			break
		}
		// DBSync has no lookup by user; its list is bounded by the annual quota.
		licenses = make([][]model.License, 1)
		keep = func(l model.License) bool { return strings.EqualFold(l.User, email) }
		licenseCalls = add(store(model.VendorDBSync, &licenses[0], func(ctx context.Context) ([]model.License, error) {
			return s.b.Licenses(ctx, "")
		}))
	default:
		names := distinctFold(id.names)
		licenses = make([][]model.License, len(names))
		keep = func(l model.License) bool {
			return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, l.Company) })
		}
		var cs []call[struct{}]
		for i, name := range names {
			cs = append(cs, store(model.VendorDBSync, &licenses[i], func(ctx context.Context) ([]model.License, error) {
				return s.b.Licenses(ctx, name)
			}))
		}
		licenseCalls = add(cs...)
	}

	// Booking records: the identified person, or per organization domain.
	v.BookingRecords = BookingSection{Items: []model.BookingCustomer{}}
	var (
		domains      []string
		bookings     [][]model.BookingCustomer
		bookingCalls span
	)
	switch {
	case id.bookings != nil:
		v.BookingRecords = *id.bookings
	default:
		domains = orgDomains(id.customer)
		if len(domains) == 0 {
			v.BookingRecords.Section = notApplicable(model.VendorBokaMera, "no e-mail domain of the organization is known")
			break
		}
		bookings = make([][]model.BookingCustomer, len(domains))
		var cs []call[struct{}]
		for i, d := range domains {
			cs = append(cs, store(model.VendorBokaMera, &bookings[i], func(ctx context.Context) ([]model.BookingCustomer, error) {
				return s.b.SearchBookings(ctx, d)
			}))
		}
		bookingCalls = add(cs...)
	}

	if len(calls) == 0 {
		return nil
	}
	// Licences and booking records are found by the names and domains the
	// identifying vendors know; with one of them down, some may be missed.
	var missing []string
	for _, src := range id.sources {
		if src.Status != upstream.StatusOK {
			missing = append(missing, src.Vendor)
		}
	}
	partial := func(sec *Section) {
		if len(missing) > 0 && sec.Status == upstream.StatusOK {
			sec.Detail = "may be incomplete: " + strings.Join(missing, ", ") +
				" did not answer, so some of the organization's names or e-mail domains are unknown"
		}
	}
	outs := fanOut(ctx, calls)
	srcs := sourcesOf(outs)
	// A section fails as a whole: partial items would look complete.
	status := func(sp span) (Section, bool) {
		w := worst(srcs[sp.from:sp.to])
		return sectionOf(w), w.Status == upstream.StatusOK
	}

	if agreementCalls.to > agreementCalls.from {
		var ok bool
		if v.Agreements.Section, ok = status(agreementCalls); ok {
			for i, t := range id.tenants.Items {
				as := agreements[i]
				if as == nil {
					as = []model.Agreement{}
				}
				v.Agreements.Items = append(v.Agreements.Items,
					TenantAgreements{TenantID: t.ID, TenantName: t.Name, Consented: len(as) > 0, Agreements: as})
			}
		}
	}
	if licenseCalls.to > licenseCalls.from {
		var ok bool
		if v.Licenses.Section, ok = status(licenseCalls); ok {
			seen := map[[2]string]bool{}
			for _, ls := range licenses {
				for _, l := range ls {
					k := [2]string{strings.ToLower(l.Company), strings.ToLower(l.User)}
					if keep(l) && !seen[k] {
						seen[k] = true
						v.Licenses.Items = append(v.Licenses.Items, l)
					}
				}
			}
			partial(&v.Licenses.Section)
		}
	}
	if bookingCalls.to > bookingCalls.from {
		var ok bool
		if v.BookingRecords.Section, ok = status(bookingCalls); ok {
			seen := map[string]bool{}
			for _, bs := range bookings {
				for _, b := range bs {
					if slices.Contains(domains, emailDomain(b.Email)) && !seen[b.ID] {
						seen[b.ID] = true
						v.BookingRecords.Items = append(v.BookingRecords.Items, b)
					}
				}
			}
			slices.SortFunc(v.BookingRecords.Items, func(a, b model.BookingCustomer) int {
				return cmp.Or(cmp.Compare(strings.ToLower(a.Email), strings.ToLower(b.Email)), cmp.Compare(a.ID, b.ID))
			})
			partial(&v.BookingRecords.Section)
		}
	}
	return srcs
}

// distinctFold drops empty and case-insensitively repeated strings.
func distinctFold(in []string) []string {
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s != "" && !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, s) }) {
			out = append(out, s)
		}
	}
	return out
}

// publicMailDomains are mail providers anyone can use; a contact there says
// nothing about the organization's own domain.
var publicMailDomains = map[string]bool{
	"gmail.com": true, "googlemail.com": true, "outlook.com": true, "hotmail.com": true, "live.com": true,
	"msn.com": true, "yahoo.com": true, "icloud.com": true, "me.com": true, "aol.com": true,
	"proton.me": true, "protonmail.com": true, "gmx.com": true, "gmx.de": true, "web.de": true,
	"mail.com": true, "yandex.com": true, "hotmail.se": true, "live.se": true, "outlook.se": true, "yahoo.se": true,
}

// orgDomains are the e-mail domains that identify the organization: its
// onmicrosoft domain and its primary contact's domain (see the join rules).
func orgDomains(c model.Customer) []string {
	var ds []string
	if c.Domain != "" {
		ds = append(ds, strings.ToLower(c.Domain))
	}
	if c.PrimaryContact != nil {
		if d := emailDomain(c.PrimaryContact.Email); d != "" && !publicMailDomains[d] && !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
	}
	return ds
}

// emailDomain is the lower-case part after the last "@", or "".
func emailDomain(email string) string {
	i := strings.LastIndexByte(email, '@')
	if i < 0 || i == len(email)-1 {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(email[i+1:]))
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
