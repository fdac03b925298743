package aggregate

import (
	"context"
	"errors"
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
