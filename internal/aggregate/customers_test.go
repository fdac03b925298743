package aggregate

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream"
)

func TestMergeJoinsOnTenantThenDomain(t *testing.T) {
	recs := []model.CustomerRecord{
		{Vendor: "crayon", VendorID: "1001", Name: "Contoso (Crayon)", MicrosoftTenantID: "AAAA", Domain: "contoso.onmicrosoft.com"},
		{Vendor: "gdap", VendorID: "aaaa", Name: "Contoso AB", MicrosoftTenantID: "aaaa", Domain: "contoso.onmicrosoft.com"},
		{Vendor: "gdap", VendorID: "bbbb", Name: "Northwind", MicrosoftTenantID: "bbbb", Domain: "northwind.onmicrosoft.com"},
		{Vendor: "crayon", VendorID: "1003", Name: "Northwind AS", Domain: "NORTHWIND.onmicrosoft.com"},
		// Same domain but a different tenant id: two organizations, not one.
		{Vendor: "crayon", VendorID: "1004", Name: "Impostor", MicrosoftTenantID: "cccc", Domain: "contoso.onmicrosoft.com"},
		{Vendor: "bokamera", VendorID: "p1", Name: "Olle Holm"},
	}
	got := Merge(recs)
	byID := map[string]model.Customer{}
	for _, c := range got {
		byID[c.ID] = c
	}
	if len(got) != 4 {
		t.Fatalf("%d customers, want 4: %+v", len(got), got)
	}
	if c := byID["ms-aaaa"]; c.Name != "Contoso AB" || len(c.References) != 2 {
		t.Errorf("Contoso not merged under GDAP's name: %+v", c)
	}
	if c := byID["ms-bbbb"]; len(c.References) != 2 {
		t.Errorf("Northwind not joined on the domain: %+v", c)
	}
	if _, ok := byID["ms-cccc"]; !ok {
		t.Error("a record with another tenant id was merged on the domain alone")
	}
	if _, ok := byID["bokamera-p1"]; !ok {
		t.Error("booking customer missing")
	}
	// Kind and aliases follow from the merged records.
	for id, want := range map[string]struct {
		kind    string
		aliases []string
	}{
		"ms-aaaa":     {model.CustomerKindOrganization, []string{"crayon-1001"}},
		"ms-bbbb":     {model.CustomerKindOrganization, []string{"crayon-1003"}},
		"ms-cccc":     {model.CustomerKindOrganization, []string{"crayon-1004"}},
		"bokamera-p1": {model.CustomerKindPerson, []string{}},
	} {
		if c := byID[id]; c.Kind != want.kind || !slices.Equal(c.Aliases, want.aliases) || c.Aliases == nil {
			t.Errorf("%s: kind %q aliases %#v, want %q %#v", id, c.Kind, c.Aliases, want.kind, want.aliases)
		}
	}
}

func TestListSameCustomerWhateverTheVendorFilter(t *testing.T) {
	source := func(vendor string, recs ...model.CustomerRecord) CustomerSource {
		return CustomerSource{Vendor: vendor, List: Live(func(context.Context) ([]model.CustomerRecord, error) { return recs, nil })}
	}
	svc := NewCustomers(
		source("gdap", model.CustomerRecord{Vendor: "gdap", VendorID: "aaaa", Name: "Contoso AB", MicrosoftTenantID: "aaaa",
			Contact: &model.Contact{Email: "anna@contoso.se"}}),
		source("crayon", model.CustomerRecord{Vendor: "crayon", VendorID: "1001", Name: "Contoso (Crayon)", MicrosoftTenantID: "aaaa",
			Contact: &model.Contact{Email: "billing@contoso.se"}},
			model.CustomerRecord{Vendor: "crayon", VendorID: "1002", Name: "Fabrikam"}),
		source("bokamera", model.CustomerRecord{Vendor: "bokamera", VendorID: "p1", Name: "Olle Holm"}),
	)
	all, err := svc.List(t.Context(), CustomerQuery{})
	if err != nil || len(all.Items) != 3 {
		t.Fatalf("unfiltered: %+v, %v", all, err)
	}
	for _, vendor := range []string{"gdap", "crayon"} {
		got, err := svc.List(t.Context(), CustomerQuery{Vendor: vendor})
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(got.Items, func(c model.Customer) bool { return c.ID == "ms-aaaa" })
		if i < 0 || !reflect.DeepEqual(got.Items[i], all.Items[0]) {
			t.Errorf("vendor=%s: Contoso is %+v, want the unfiltered %+v", vendor, got.Items, all.Items[0])
		}
		for _, c := range got.Items {
			if !slices.ContainsFunc(c.References, func(r model.VendorRef) bool { return r.Vendor == vendor }) {
				t.Errorf("vendor=%s kept %s, which the vendor does not know", vendor, c.ID)
			}
		}
	}
	// The vendor filtered on failing is not an empty list.
	failing := NewCustomers(svc.sources[0], CustomerSource{Vendor: "crayon", List: Live(func(context.Context) ([]model.CustomerRecord, error) {
		return nil, &upstream.Error{Vendor: "crayon", Status: 500}
	})})
	var vf *VendorsFailedError
	if _, err := failing.List(t.Context(), CustomerQuery{Vendor: "crayon"}); !errors.As(err, &vf) {
		t.Errorf("vendor=crayon with Crayon down: %v, want every needed vendor failed", err)
	}
}

func TestListMarksFailedSourceAndKeepsOthers(t *testing.T) {
	ok := CustomerSource{Vendor: "gdap", List: Live(func(context.Context) ([]model.CustomerRecord, error) {
		return []model.CustomerRecord{{Vendor: "gdap", VendorID: "x", Name: "X", MicrosoftTenantID: "x"}}, nil
	})}
	var vendorDeadline time.Time
	slow := CustomerSource{Vendor: "crayon", List: Live(func(ctx context.Context) ([]model.CustomerRecord, error) {
		vendorDeadline, _ = ctx.Deadline()
		<-ctx.Done() // a vendor that never answers ends with the budget
		return nil, &upstream.Error{Vendor: "crayon", Op: "list", Err: ctx.Err()}
	})}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	requestDeadline, _ := ctx.Deadline()
	list, err := NewCustomers(ok, slow).List(ctx, CustomerQuery{})
	if err != nil {
		t.Fatal(err)
	}
	// Vendors get a share of the budget, leaving time to merge and answer.
	if left := requestDeadline.Sub(vendorDeadline); left < 20*time.Millisecond {
		t.Errorf("vendor deadline leaves only %v of a 200ms budget", left)
	}
	if list.Complete || len(list.Items) != 1 || list.Sources[1].Status != upstream.StatusTimeout {
		t.Fatalf("got %+v", list)
	}
}

func TestListAllFailedStatus(t *testing.T) {
	fail := func(err error) CustomerSource {
		return CustomerSource{Vendor: "v", List: Live(func(context.Context) ([]model.CustomerRecord, error) { return nil, err })}
	}
	open := &upstream.Error{Err: upstream.ErrUnavailable}
	timeout := &upstream.Error{Err: context.DeadlineExceeded}
	broken := &upstream.Error{Status: 500}
	tests := []struct {
		errs []error
		want string
	}{
		{[]error{open, open}, upstream.StatusUnavailable},
		{[]error{open, timeout}, upstream.StatusTimeout},
		{[]error{timeout, broken}, upstream.StatusError},
	}
	for _, tc := range tests {
		var srcs []CustomerSource
		for _, e := range tc.errs {
			srcs = append(srcs, fail(e))
		}
		_, err := NewCustomers(srcs...).List(context.Background(), CustomerQuery{})
		var vf *VendorsFailedError
		if !errors.As(err, &vf) || vf.Status() != tc.want {
			t.Errorf("%v: got %v, want status %s", tc.errs, err, tc.want)
		}
	}
}
