package aggregate

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream"
)

// StatusUnknown is a section's status when the vendor offers no way to
// know (GDAP without a relationship listing). It does not make the view
// incomplete: nothing the vendor could give is missing.
const StatusUnknown = "unknown"

// ErrNoRelationshipListing is what ExtraBackend.Relationships returns when
// the GDAP deployment has no relationship listing.
var ErrNoRelationshipListing = errors.New("gdap offers no relationship listing")

// ExtraBackend feeds the 360 view's licence and GDAP relationship sections.
type ExtraBackend struct {
	// Subscriptions lists every Crayon subscription of one tenant (all pages).
	Subscriptions func(ctx context.Context, tenantID string) ([]model.Subscription, error)
	// Relationships lists the partner's GDAP relationships, or
	// ErrNoRelationshipListing.
	Relationships Read[[]model.GDAPRelationship]
}

// RelationshipSection is the customer's GDAP relationships (status, roles,
// end date), newest first.
type RelationshipSection struct {
	Section
	Items []model.GDAPRelationship `json:"items"`
}

// extraSections are the 360 view's sections kept apart from the rest of
// the view's code, embedded in CustomerView.
type extraSections struct {
	// Subscriptions are the Crayon subscriptions of the customer's tenants
	// with totals per product.
	Subscriptions *SubscriptionSection `json:"subscriptions,omitempty"`
	// GDAPRelationships are the partner's delegated-admin relationships
	// with the customer's Microsoft tenant.
	GDAPRelationships *RelationshipSection `json:"gdap_relationships,omitempty"`
}

// relationshipSection reads GDAP's relationships and keeps the customer's.
func relationshipSection(ctx context.Context, list Read[[]model.GDAPRelationship], tenantID string) (RelationshipSection, []Source) {
	sec := RelationshipSection{Items: []model.GDAPRelationship{}}
	switch {
	case list == nil:
		sec.Section = Section{Vendor: model.VendorGDAP, Status: StatusUnknown, Detail: "the gateway does not read GDAP relationships"}
		return sec, nil
	case tenantID == "":
		sec.Section = notApplicable(model.VendorGDAP, "the customer has no known Microsoft tenant")
		return sec, nil
	}
	outs := fanOut(ctx, []call[[]model.GDAPRelationship]{{vendor: model.VendorGDAP, fn: list}})
	o := outs[0]
	if errors.Is(o.err, ErrNoRelationshipListing) {
		// The vendor has no such route: a deployment fact, not a failure.
		o.source.Status, o.source.Detail = upstream.StatusOK, ""
		sec.Section = Section{Vendor: model.VendorGDAP, Status: StatusUnknown,
			Detail: "GDAP offers no relationship listing, so the relationship state is unknown"}
		return sec, []Source{o.source}
	}
	sec.Section = sectionOf(o.source)
	if o.err != nil {
		return sec, []Source{o.source}
	}
	for _, r := range o.val {
		if strings.EqualFold(r.CustomerTenantID, tenantID) {
			sec.Items = append(sec.Items, r)
		}
	}
	// Newest first; relationships never activated go by creation.
	at := func(r model.GDAPRelationship) int64 {
		for _, t := range []*time.Time{r.ActivatedAt, r.CreatedAt} {
			if t != nil {
				return t.UnixNano()
			}
		}
		return 0
	}
	slices.SortStableFunc(sec.Items, func(a, b model.GDAPRelationship) int { return cmp.Compare(at(b), at(a)) })
	return sec, []Source{o.source}
}

// startExtra reads the wanted extra sections concurrently with the rest of
// the view; the returned func waits for them and gives their sources.
func (s *CustomerViews) startExtra(ctx context.Context, id identity, v *CustomerView, want func(string) bool) func() []Source {
	subs, rels := make(chan []Source, 1), make(chan []Source, 1)
	if want(SectionSubscriptions) {
		go func() {
			sec, srcs := subscriptionSection(ctx, s.b.Extra.Subscriptions, id.tenants)
			for i := range sec.Items {
				sec.Items[i].CustomerID = id.customer.ID
			}
			v.Subscriptions = &sec
			subs <- srcs
		}()
	} else {
		subs <- nil
	}
	if want(SectionGDAPRelationships) {
		go func() {
			sec, srcs := relationshipSection(ctx, s.b.Extra.Relationships, id.customer.MicrosoftTenantID)
			v.GDAPRelationships = &sec
			rels <- srcs
		}()
	} else {
		rels <- nil
	}
	return func() []Source { return append(<-subs, <-rels...) }
}
