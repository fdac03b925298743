package aggregate

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream"
)

const (
	contosoTenant = "3f1c2b8e-5a4d-4c7b-9e21-6d0f8a7b1c01"
	litwareTenant = "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e07"
)

// fakeVendors is a stub backend over a small world: Contoso (GDAP and
// Crayon), Litware (Crayon only), a Crayon tenant with no Microsoft tenant
// id, and booking people.
type fakeVendors struct {
	mu       sync.Mutex
	searched []string
	fail     map[string]error // vendor -> error every call of it returns
	hang     string           // vendor whose calls wait for the deadline
	licDL    time.Duration    // time left on the Licenses call's deadline
	calls    map[string]int   // backend function -> calls
}

func (f *fakeVendors) note(fn string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[fn]++
}

func (f *fakeVendors) err(ctx context.Context, vendor string) error {
	if f.hang == vendor {
		<-ctx.Done()
		return &upstream.Error{Vendor: vendor, Err: ctx.Err()}
	}
	return f.fail[vendor]
}

func (f *fakeVendors) backend() CustomerViewBackend {
	tenants := []model.Tenant{
		{ID: "1001", Name: "Contoso AB", MicrosoftTenantID: contosoTenant, Domain: "contosoab.onmicrosoft.com", Status: model.TenantStatusActive},
		{ID: "1007", Name: "Litware Inc", MicrosoftTenantID: litwareTenant, Domain: "litwareinc.onmicrosoft.com", Status: model.TenantStatusActive},
		{ID: "1020", Name: "Loose Tenant", Domain: "loose.onmicrosoft.com", Status: model.TenantStatusActive},
		{ID: "1030", Name: "Gone Ltd", MicrosoftTenantID: "0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c04", Status: model.TenantStatusRemoved},
	}
	people := []model.BookingCustomer{
		{ID: "p1", FirstName: "Anna", Email: "anna@contoso.se"},
		{ID: "p2", FirstName: "Per", Email: "PER@Contoso.SE"},
		{ID: "p3", FirstName: "Eve", Email: "eve@contoso.se.example.net"},
		{ID: "p4", FirstName: "Nils", Email: "nils@notcontoso.se"},
		{ID: "p5", FirstName: "Olle", Email: "olle@gmail.com"},
		{ID: "p6", FirstName: "Liv", Email: "liv@litwareinc.onmicrosoft.com"},
	}
	users := []model.License{
		{Company: "CONTOSO AB", User: "anna@contoso.se"},
		{Company: "Contoso AB Holding", User: "boss@contoso.se"},
		{Company: "Fabrikam Oy", User: "olle@gmail.com"},
	}
	return CustomerViewBackend{
		GDAPCustomers: Live(func(ctx context.Context) ([]model.GDAPCustomer, error) {
			f.note("GDAPCustomers")
			if err := f.err(ctx, model.VendorGDAP); err != nil {
				return nil, err
			}
			return []model.GDAPCustomer{{MicrosoftTenantID: contosoTenant, CompanyName: "Contoso AB", Domain: "contosoab.onmicrosoft.com",
				PrimaryContact: &model.Contact{Email: "anna@contoso.se"}}}, nil
		}),
		CrayonTenants: Live(func(ctx context.Context) ([]model.Tenant, error) {
			f.note("CrayonTenants")
			return tenants, f.err(ctx, model.VendorCrayon)
		}),
		CrayonTenant: LiveBy(func(ctx context.Context, id string) (model.Tenant, error) {
			f.note("CrayonTenant")
			if err := f.err(ctx, model.VendorCrayon); err != nil {
				return model.Tenant{}, err
			}
			for _, t := range tenants {
				if t.ID == id {
					return t, nil
				}
			}
			return model.Tenant{}, &upstream.Error{Vendor: model.VendorCrayon, Status: 404, Err: upstream.ErrNotFound}
		}),
		Agreements: func(ctx context.Context, id string) ([]model.Agreement, error) {
			f.note("Agreements")
			if err := f.err(ctx, model.VendorCrayon); err != nil {
				return nil, err
			}
			if id == "1001" {
				return []model.Agreement{{Type: model.AgreementMicrosoftCustomer, Email: "anna@contoso.se"}}, nil
			}
			return nil, nil
		},
		Licenses: func(ctx context.Context, company string) ([]model.License, error) {
			f.note("Licenses")
			if dl, ok := ctx.Deadline(); ok {
				f.mu.Lock()
				f.licDL = time.Until(dl)
				f.mu.Unlock()
			}
			if err := f.err(ctx, model.VendorDBSync); err != nil {
				return nil, err
			}
			// Like a vendor that matches loosely: the caller must filter.
			return users, nil
		},
		BookingCustomer: LiveBy(func(ctx context.Context, id string) (model.BookingCustomer, error) {
			f.note("BookingCustomer")
			if err := f.err(ctx, model.VendorBokaMera); err != nil {
				return model.BookingCustomer{}, err
			}
			for _, p := range people {
				if p.ID == id {
					return p, nil
				}
			}
			return model.BookingCustomer{}, &upstream.Error{Vendor: model.VendorBokaMera, Err: upstream.ErrNotFound}
		}),
		SearchBookings: LiveBy(func(ctx context.Context, text string) ([]model.BookingCustomer, error) {
			f.note("SearchBookings")
			f.mu.Lock()
			f.searched = append(f.searched, text)
			f.mu.Unlock()
			if err := f.err(ctx, model.VendorBokaMera); err != nil {
				return nil, err
			}
			return people, nil // loose matching again
		}),
	}
}

func TestParseCustomerID(t *testing.T) {
	good := map[string]CustomerKey{
		"ms-" + contosoTenant:                     {KeyMicrosoft, contosoTenant},
		"ms-3F1C2B8E-5A4D-4C7B-9E21-6D0F8A7B1C01": {KeyMicrosoft, contosoTenant},
		"crayon-1001":                             {KeyCrayon, "1001"},
		"crayon-2147483647":                       {KeyCrayon, "2147483647"},
		"bokamera-" + contosoTenant:               {KeyBokaMera, contosoTenant},
	}
	for id, want := range good {
		if got, ok := ParseCustomerID(id); !ok || got != want {
			t.Errorf("ParseCustomerID(%q) = %+v, %v; want %+v", id, got, ok, want)
		}
	}
	for _, id := range []string{"", "ms-", "ms-nope", "ms-" + contosoTenant + "x", "crayon-0", "crayon-01", "crayon--1",
		"crayon-2147483648", "crayon-1e3", "bokamera-1", "gdap-" + contosoTenant, "dbsync-9", "MS-" + contosoTenant, "contoso"} {
		if k, ok := ParseCustomerID(id); ok {
			t.Errorf("ParseCustomerID(%q) accepted as %+v", id, k)
		}
	}
}

func TestCustomerViewOfMergedCustomer(t *testing.T) {
	f := &fakeVendors{}
	v, err := NewCustomerViews(f.backend()).Get(context.Background(), CustomerKey{KeyMicrosoft, contosoTenant})
	if err != nil {
		t.Fatal(err)
	}
	if v.Customer.ID != "ms-"+contosoTenant || len(v.Customer.References) != 2 {
		t.Fatalf("customer %+v, want Contoso merged from GDAP and Crayon", v.Customer)
	}
	if !v.Complete {
		t.Errorf("complete = false; sections %+v %+v %+v %+v %+v", v.GDAP.Section, v.Tenants.Section, v.Agreements.Section, v.Licenses.Section, v.BookingRecords.Section)
	}
	if v.GDAP.Item == nil || v.GDAP.Item.CompanyName != "Contoso AB" || v.GDAP.Vendor != "gdap" {
		t.Errorf("gdap section %+v", v.GDAP)
	}
	if len(v.Tenants.Items) != 1 || v.Tenants.Items[0].ID != "1001" {
		t.Errorf("tenants %+v, want only 1001", v.Tenants.Items)
	}
	if a := v.Agreements.Items; len(a) != 1 || a[0].TenantID != "1001" || !a[0].Consented || len(a[0].Agreements) != 1 {
		t.Errorf("agreements %+v", a)
	}
	// Company names match case-insensitively and exactly, never as a prefix.
	if l := v.Licenses.Items; len(l) != 1 || l[0].User != "anna@contoso.se" {
		t.Errorf("licenses %+v, want only anna's under CONTOSO AB", l)
	}
	// The e-mail domain must equal an organization domain, not contain it.
	var ids []string
	for _, b := range v.BookingRecords.Items {
		ids = append(ids, b.ID)
	}
	if !slices.Equal(ids, []string{"p1", "p2"}) {
		t.Errorf("booking records %v, want p1 and p2", ids)
	}
	slices.Sort(f.searched)
	if !slices.Equal(f.searched, []string{"contoso.se", "contosoab.onmicrosoft.com"}) {
		t.Errorf("booking searches %v", f.searched)
	}
	var vendors []string
	for _, s := range v.Sources {
		vendors = append(vendors, s.Vendor+":"+s.Status)
	}
	if !slices.Equal(vendors, []string{"gdap:ok", "crayon:ok", "dbsync:ok", "bokamera:ok"}) {
		t.Errorf("sources %v, want one ok entry per vendor", vendors)
	}
}

func TestCustomerViewOneVendorFailingBlanksItsSection(t *testing.T) {
	tests := []struct {
		vendor string
		err    error
		check  func(CustomerView) Section
	}{
		{model.VendorDBSync, &upstream.Error{Status: 500}, func(v CustomerView) Section {
			if len(v.Licenses.Items) != 0 {
				t.Errorf("licenses kept items: %+v", v.Licenses.Items)
			}
			return v.Licenses.Section
		}},
		{model.VendorBokaMera, &upstream.Error{Err: upstream.ErrUnavailable}, func(v CustomerView) Section {
			if len(v.BookingRecords.Items) != 0 {
				t.Errorf("booking records kept items: %+v", v.BookingRecords.Items)
			}
			return v.BookingRecords.Section
		}},
		{model.VendorGDAP, &upstream.Error{Status: 503}, func(v CustomerView) Section {
			if v.GDAP.Item != nil || v.Customer.ID != "ms-"+contosoTenant {
				t.Errorf("gdap item %+v, customer %+v", v.GDAP.Item, v.Customer)
			}
			return v.GDAP.Section
		}},
	}
	want := map[string]string{model.VendorDBSync: "error", model.VendorBokaMera: "unavailable", model.VendorGDAP: "error"}
	for _, tc := range tests {
		t.Run(tc.vendor, func(t *testing.T) {
			f := &fakeVendors{fail: map[string]error{tc.vendor: tc.err}}
			v, err := NewCustomerViews(f.backend()).Get(context.Background(), CustomerKey{KeyMicrosoft, contosoTenant})
			if err != nil {
				t.Fatal(err)
			}
			sec := tc.check(v)
			if sec.Vendor != tc.vendor || sec.Status != want[tc.vendor] || v.Complete {
				t.Fatalf("section %+v complete %v, want %s %s and incomplete", sec, v.Complete, tc.vendor, want[tc.vendor])
			}
			if v.Tenants.Status != "ok" || len(v.Tenants.Items) != 1 {
				t.Errorf("tenants hit by another vendor's failure: %+v", v.Tenants)
			}
		})
	}
	t.Run("crayon blanks tenants and agreements", func(t *testing.T) {
		f := &fakeVendors{fail: map[string]error{model.VendorCrayon: &upstream.Error{Status: 500}}}
		v, err := NewCustomerViews(f.backend()).Get(context.Background(), CustomerKey{KeyMicrosoft, contosoTenant})
		if err != nil {
			t.Fatal(err)
		}
		if v.Tenants.Status != "error" || v.Agreements.Status != "error" || len(v.Tenants.Items)+len(v.Agreements.Items) != 0 {
			t.Fatalf("tenants %+v agreements %+v", v.Tenants, v.Agreements)
		}
		if v.Licenses.Status != "ok" || v.GDAP.Item == nil || v.Complete {
			t.Fatalf("licenses %+v gdap %+v complete %v", v.Licenses.Section, v.GDAP.Section, v.Complete)
		}
	})
}

func TestCustomerViewIdentification(t *testing.T) {
	views := func(f *fakeVendors) *CustomerViews { return NewCustomerViews(f.backend()) }
	ctx := context.Background()

	t.Run("crayon only", func(t *testing.T) {
		v, err := views(&fakeVendors{}).Get(ctx, CustomerKey{KeyMicrosoft, litwareTenant})
		if err != nil {
			t.Fatal(err)
		}
		// GDAP answered and does not know it: ok, with no record.
		if v.GDAP.Status != "ok" || v.GDAP.Item != nil || !v.Complete {
			t.Fatalf("gdap %+v complete %v", v.GDAP, v.Complete)
		}
		if len(v.BookingRecords.Items) != 1 || v.BookingRecords.Items[0].ID != "p6" {
			t.Errorf("booking records %+v, want the onmicrosoft address", v.BookingRecords.Items)
		}
		if a := v.Agreements.Items; len(a) != 1 || a[0].Consented || a[0].Agreements == nil {
			t.Errorf("agreements %+v, want one tenant without consent", a)
		}
	})
	t.Run("unknown everywhere", func(t *testing.T) {
		_, err := views(&fakeVendors{}).Get(ctx, CustomerKey{KeyMicrosoft, "00000000-0000-4000-8000-000000000001"})
		var nf *CustomerNotFoundError
		if !errors.As(err, &nf) {
			t.Fatalf("got %v, want not found", err)
		}
	})
	t.Run("removed tenant founds no customer", func(t *testing.T) {
		_, err := views(&fakeVendors{}).Get(ctx, CustomerKey{KeyMicrosoft, "0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c04"})
		var nf *CustomerNotFoundError
		if !errors.As(err, &nf) {
			t.Fatalf("got %v, want not found", err)
		}
	})
	t.Run("unknown to one, the other failing", func(t *testing.T) {
		// Litware may be at GDAP too for all we know: not a 404.
		f := &fakeVendors{fail: map[string]error{model.VendorCrayon: &upstream.Error{Err: context.DeadlineExceeded}}}
		_, err := views(f).Get(ctx, CustomerKey{KeyMicrosoft, litwareTenant})
		var vf *VendorsFailedError
		if !errors.As(err, &vf) || vf.Status() != upstream.StatusTimeout || len(vf.Sources) != 2 {
			t.Fatalf("got %v, want a timeout VendorsFailedError with both sources", err)
		}
	})
	t.Run("crayon id of a tenant listed under its microsoft id", func(t *testing.T) {
		v, err := views(&fakeVendors{}).Get(ctx, CustomerKey{KeyCrayon, "1001"})
		if err != nil {
			t.Fatal(err)
		}
		canonical, err := views(&fakeVendors{}).Get(ctx, CustomerKey{KeyMicrosoft, contosoTenant})
		if err != nil {
			t.Fatal(err)
		}
		// The alias answers the canonical customer, as its own id does.
		if v.Customer.ID != "ms-"+contosoTenant || !reflect.DeepEqual(v.Customer, canonical.Customer) ||
			!slices.Equal(v.Customer.Aliases, []string{"crayon-1001"}) || v.GDAP.Item == nil || len(v.Tenants.Items) != 1 {
			t.Fatalf("view of crayon-1001: customer %+v gdap %+v tenants %+v", v.Customer, v.GDAP, v.Tenants)
		}
	})
	t.Run("crayon id", func(t *testing.T) {
		v, err := views(&fakeVendors{}).Get(ctx, CustomerKey{KeyCrayon, "1020"})
		if err != nil {
			t.Fatal(err)
		}
		if v.Customer.ID != "crayon-1020" || len(v.Tenants.Items) != 1 || v.GDAP.Status != "ok" || v.GDAP.Item != nil {
			t.Fatalf("view %+v", v)
		}
	})
	t.Run("unknown crayon id", func(t *testing.T) {
		_, err := views(&fakeVendors{}).Get(ctx, CustomerKey{KeyCrayon, "9999"})
		var nf *CustomerNotFoundError
		if !errors.As(err, &nf) {
			t.Fatalf("got %v, want not found", err)
		}
	})
	t.Run("booking person", func(t *testing.T) {
		f := &fakeVendors{}
		v, err := views(f).Get(ctx, CustomerKey{KeyBokaMera, "p5"})
		if err != nil {
			t.Fatal(err)
		}
		if v.Customer.ID != "bokamera-p5" || v.GDAP.Status != StatusNotApplicable || v.Tenants.Status != StatusNotApplicable ||
			v.Agreements.Status != StatusNotApplicable || !v.Complete {
			t.Fatalf("view %+v", v)
		}
		if len(v.BookingRecords.Items) != 1 || v.BookingRecords.Status != "ok" {
			t.Errorf("booking records %+v", v.BookingRecords)
		}
		if l := v.Licenses.Items; len(l) != 1 || l[0].Company != "Fabrikam Oy" {
			t.Errorf("licenses %+v, want the one held under the person's e-mail", l)
		}
		if len(f.searched) != 0 {
			t.Errorf("searched bookings %v for a person already read", f.searched)
		}
	})
	t.Run("booking person unreachable", func(t *testing.T) {
		f := &fakeVendors{fail: map[string]error{model.VendorBokaMera: &upstream.Error{Err: upstream.ErrUnavailable}}}
		_, err := views(f).Get(ctx, CustomerKey{KeyBokaMera, "p5"})
		var vf *VendorsFailedError
		if !errors.As(err, &vf) || vf.Status() != upstream.StatusUnavailable {
			t.Fatalf("got %v, want unavailable", err)
		}
	})
}

// A vendor hanging while the customer is identified must leave the
// sections a fair share of the request's time.
func TestCustomerViewIdentifyLeavesSectionsTime(t *testing.T) {
	f := &fakeVendors{hang: model.VendorGDAP}
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	v, err := NewCustomerViews(f.backend()).Get(ctx, CustomerKey{KeyMicrosoft, litwareTenant})
	if err != nil {
		t.Fatal(err)
	}
	if v.GDAP.Status != "timeout" || v.Licenses.Status != "ok" {
		t.Fatalf("gdap %+v licenses %+v", v.GDAP.Section, v.Licenses.Section)
	}
	// About 0.85 × 0.4 × 600ms is left; without the identify share it
	// would be 0.85 × 0.15 × 600ms.
	if f.licDL < 120*time.Millisecond {
		t.Errorf("licenses call got %v of a 600ms request", f.licDL)
	}
}

func TestCustomerViewIncludeReadsOnlyTheNamedSections(t *testing.T) {
	f := &fakeVendors{}
	b := f.backend()
	b.Extra = ExtraBackend{
		Subscriptions: func(context.Context, string) ([]model.Subscription, error) {
			f.note("Subscriptions")
			return nil, nil
		},
		Relationships: Live(func(context.Context) ([]model.GDAPRelationship, error) {
			f.note("Relationships")
			return nil, nil
		}),
	}
	before := time.Now().UTC()
	v, err := NewCustomerViews(b).Get(context.Background(), CustomerKey{KeyMicrosoft, contosoTenant}, SectionLicenses, SectionTenants)
	if err != nil {
		t.Fatal(err)
	}
	if v.Licenses == nil || v.Tenants == nil || v.GDAP != nil || v.Agreements != nil || v.BookingRecords != nil ||
		v.Subscriptions != nil || v.GDAPRelationships != nil {
		t.Fatalf("sections present: %+v", v)
	}
	if len(v.Licenses.Items) != 1 || len(v.Tenants.Items) != 1 || !v.Complete {
		t.Errorf("licenses %+v tenants %+v complete %v", v.Licenses, v.Tenants, v.Complete)
	}
	// Identification reads GDAP and Crayon; beyond that only DBSync is asked.
	for _, fn := range []string{"Agreements", "SearchBookings", "BookingCustomer", "Subscriptions", "Relationships"} {
		if n := f.calls[fn]; n != 0 {
			t.Errorf("%s called %d times for include=licenses,tenants", fn, n)
		}
	}
	if f.calls["Licenses"] == 0 {
		t.Error("licenses not read")
	}
	for _, s := range v.Sources {
		if s.Vendor == model.VendorBokaMera {
			t.Errorf("sources name bokamera, which was not asked: %+v", v.Sources)
		}
	}
	for name, sec := range map[string]Section{"licenses": v.Licenses.Section, "tenants": v.Tenants.Section} {
		if sec.AsOf.Before(before) || sec.AsOf.After(time.Now()) || sec.AsOf.Location() != time.UTC {
			t.Errorf("%s as_of %v, want the time of this read (after %v), in UTC", name, sec.AsOf, before)
		}
	}

	// Without include every section is there.
	all, err := NewCustomerViews(b).Get(context.Background(), CustomerKey{KeyMicrosoft, contosoTenant})
	if err != nil {
		t.Fatal(err)
	}
	if all.GDAP == nil || all.Agreements == nil || all.BookingRecords == nil || all.Subscriptions == nil || all.GDAPRelationships == nil {
		t.Fatalf("a section is missing without include: %+v", all)
	}
}

// A section served from the snapshot is as old as the snapshot's read, and
// an alias of a merged customer answers that customer.
func TestCustomerViewFromSnapshot(t *testing.T) {
	f := &fakeVendors{}
	b := f.backend()
	gdap, _, _ := b.GDAPCustomers(context.Background())
	tenants, _, _ := b.CrayonTenants(context.Background())
	snap := newSnapshot(gdap, tenants, nil, nil)
	read := time.Now().Add(-time.Hour)
	for i := range snap.parts {
		snap.parts[i] = part{has: true, at: read, last: Source{Vendor: partVendors[i], Status: upstream.StatusOK}}
	}
	b.Snapshot = func(context.Context) (*Snapshot, error) { return snap, nil }
	v, err := NewCustomerViews(b).Get(context.Background(), CustomerKey{KeyCrayon, "1001"}, SectionGDAP, SectionAgreements)
	if err != nil {
		t.Fatal(err)
	}
	if v.Customer.ID != "ms-"+contosoTenant || v.Customer.Kind != model.CustomerKindOrganization || v.GDAP.Item == nil {
		t.Fatalf("customer %+v gdap %+v", v.Customer, v.GDAP)
	}
	if !v.GDAP.AsOf.Equal(read) {
		t.Errorf("gdap as_of %v, want the snapshot's read %v", v.GDAP.AsOf, read)
	}
	if v.Agreements.AsOf.Before(read.Add(time.Minute)) {
		t.Errorf("agreements as_of %v: read now, not with the snapshot", v.Agreements.AsOf)
	}
	if f.calls["GDAPCustomers"]+f.calls["CrayonTenants"]+f.calls["CrayonTenant"] != 2 { // the two reads above
		t.Errorf("identification read the vendors: %v", f.calls)
	}
}
