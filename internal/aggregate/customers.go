package aggregate

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/partnerhub/gateway/internal/model"
)

// CustomerSource lists one vendor's customer records.
type CustomerSource struct {
	Vendor string
	List   Read[[]model.CustomerRecord]
}

// Customers merges the customer lists of several vendors.
type Customers struct {
	sources []CustomerSource
}

// NewCustomers makes the service over the given sources.
func NewCustomers(sources ...CustomerSource) *Customers {
	return &Customers{sources: sources}
}

// Vendors lists the vendors customers are merged from.
func (s *Customers) Vendors() []string {
	out := make([]string, len(s.sources))
	for i, src := range s.sources {
		out[i] = src.Vendor
	}
	return out
}

// CustomerQuery filters the merged list.
type CustomerQuery struct {
	Q string // case-insensitive substring of name, domain, tenant id or contact e-mail
	// Vendor keeps the customers this vendor knows. Every vendor is still
	// read, so a customer has the same references and contact whatever
	// filter found it.
	Vendor string
}

// CustomerList is the merged answer, sorted by name then id.
type CustomerList struct {
	Items    []model.Customer
	Sources  []Source
	Complete bool
}

// List fans out to the sources, merges the records of the same
// organization and filters them. One vendor failing leaves its records out
// and marks the answer incomplete; all failing, or the vendor filtered on
// failing, is a *VendorsFailedError.
func (s *Customers) List(ctx context.Context, q CustomerQuery) (CustomerList, error) {
	calls := make([]call[[]model.CustomerRecord], len(s.sources))
	for i, src := range s.sources {
		calls[i] = call[[]model.CustomerRecord]{vendor: src.Vendor, fn: src.List}
	}
	outs := fanOut(ctx, calls)
	parts, sources, complete, err := collect(outs)
	if err != nil {
		return CustomerList{Sources: sources}, err
	}
	for _, o := range outs {
		if o.source.Vendor == q.Vendor && o.err != nil {
			// Which customers the vendor knows is what was asked.
			return CustomerList{Sources: sources}, &VendorsFailedError{Sources: sources, Errs: []error{o.err}}
		}
	}
	items := Merge(slices.Concat(parts...))
	if q.Vendor != "" {
		items = slices.DeleteFunc(items, func(c model.Customer) bool {
			return !slices.ContainsFunc(c.References, func(r model.VendorRef) bool { return r.Vendor == q.Vendor })
		})
	}
	if needle := strings.ToLower(strings.TrimSpace(q.Q)); needle != "" {
		items = slices.DeleteFunc(items, func(c model.Customer) bool { return !matches(c, needle) })
	}
	return CustomerList{Items: items, Sources: sources, Complete: complete}, nil
}

func matches(c model.Customer, needle string) bool {
	if strings.Contains(strings.ToLower(c.Name), needle) || strings.Contains(c.Domain, needle) ||
		strings.Contains(c.MicrosoftTenantID, needle) {
		return true
	}
	return c.PrimaryContact != nil && strings.Contains(strings.ToLower(c.PrimaryContact.Email), needle)
}

// vendorRank orders vendors by how authoritative their customer name and
// contact are: GDAP reflects Partner Center, then Crayon, then the rest.
var vendorRank = map[string]int{model.VendorGDAP: 0, model.VendorCrayon: 1, model.VendorBokaMera: 2, model.VendorDBSync: 3}

// CustomerID is the gateway's id for a merged customer: "ms-<tenant id>"
// when the Microsoft tenant is known, else "<vendor>-<vendor id>" of the
// record that founded it. Stable across calls for the same data.
func CustomerID(c model.Customer) string {
	if c.MicrosoftTenantID != "" {
		return "ms-" + c.MicrosoftTenantID
	}
	if len(c.References) > 0 {
		return c.References[0].Vendor + "-" + c.References[0].ID
	}
	return ""
}

// identify sets what a merged customer's references decide: its id, its
// aliases (the ids of its other vendor records, which ParseCustomerID
// reads and the 360 view resolves to it) and its kind (a person when only
// the booking system knows it).
func identify(c *model.Customer) {
	c.ID = CustomerID(*c)
	c.Aliases = []string{}
	c.Kind = model.CustomerKindPerson
	for _, r := range c.References {
		if r.Vendor != model.VendorBokaMera {
			c.Kind = model.CustomerKindOrganization
		}
		if alias := r.Vendor + "-" + r.ID; (r.Vendor == model.VendorCrayon || r.Vendor == model.VendorBokaMera) &&
			alias != c.ID && !slices.Contains(c.Aliases, alias) {
			c.Aliases = append(c.Aliases, alias)
		}
	}
}

// Merge joins records of the same organization: first on the Microsoft
// tenant id, then on the onmicrosoft domain. Records with neither stay on
// their own (booking-system persons, for example).
func Merge(records []model.CustomerRecord) []model.Customer {
	// Most authoritative first, so the first record of a group names it.
	slices.SortStableFunc(records, func(a, b model.CustomerRecord) int {
		return cmp.Or(cmp.Compare(vendorRank[a.Vendor], vendorRank[b.Vendor]), cmp.Compare(a.VendorID, b.VendorID))
	})
	type group struct {
		c    model.Customer
		refs map[model.VendorRef]bool
	}
	var groups []*group
	byTenant := map[string]*group{}
	byDomain := map[string]*group{}
	add := func(g *group, r model.CustomerRecord) {
		ref := model.VendorRef{Vendor: r.Vendor, ID: r.VendorID}
		if !g.refs[ref] {
			g.refs[ref] = true
			g.c.References = append(g.c.References, ref)
		}
		if g.c.Name == "" {
			g.c.Name = r.Name
		}
		if g.c.MicrosoftTenantID == "" && r.MicrosoftTenantID != "" {
			g.c.MicrosoftTenantID = r.MicrosoftTenantID
			byTenant[r.MicrosoftTenantID] = g
		}
		if g.c.Domain == "" && r.Domain != "" {
			g.c.Domain = r.Domain
			if _, taken := byDomain[r.Domain]; !taken {
				byDomain[r.Domain] = g
			}
		}
		if g.c.PrimaryContact == nil && r.Contact != nil {
			g.c.PrimaryContact = r.Contact
		}
	}
	for _, r := range records {
		r.MicrosoftTenantID = strings.ToLower(r.MicrosoftTenantID)
		r.Domain = strings.ToLower(r.Domain)
		var g *group
		if r.MicrosoftTenantID != "" {
			g = byTenant[r.MicrosoftTenantID]
		}
		if g == nil && r.Domain != "" {
			// Join on the domain only when the tenant ids do not disagree.
			if d := byDomain[r.Domain]; d != nil && (r.MicrosoftTenantID == "" || d.c.MicrosoftTenantID == "") {
				g = d
			}
		}
		if g == nil {
			g = &group{refs: map[model.VendorRef]bool{}}
			groups = append(groups, g)
		}
		add(g, r)
	}
	// The sort key is lower-cased once per customer, not per comparison.
	type keyed struct {
		name string
		c    *model.Customer
	}
	ks := make([]keyed, len(groups))
	for i, g := range groups {
		identify(&g.c)
		ks[i] = keyed{strings.ToLower(g.c.Name), &g.c}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.c.ID, b.c.ID))
	})
	out := make([]model.Customer, len(ks))
	for i, k := range ks {
		out[i] = *k.c
	}
	return out
}
