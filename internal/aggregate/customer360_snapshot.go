package aggregate

import (
	"context"
	"time"

	"github.com/partnerhub/gateway/internal/model"
)

// identifySnapshot identifies the customer from the snapshot's indexes
// instead of reading (and merging) full vendor lists. handled is false
// when the snapshot cannot say (a Crayon tenant or booking person newer
// than it): the caller then asks the vendors.
func (s *CustomerViews) identifySnapshot(ctx context.Context, key CustomerKey) (id identity, handled bool, err error) {
	snap, err := s.b.Snapshot(ctx)
	if err != nil {
		return identity{}, true, err
	}
	now := time.Now()
	idSources, _, _ := snap.Sources(now, model.VendorGDAP, model.VendorCrayon)
	gdapSrc, crayonSrc := idSources[0], idSources[1]
	switch key.Kind {
	case KeyMicrosoft:
		c, ok := snap.Customer(key.String())
		if !ok {
			var errs []error
			for _, v := range []string{model.VendorGDAP, model.VendorCrayon} {
				if err := snap.Missing(v); err != nil {
					errs = append(errs, err)
				}
			}
			if len(errs) > 0 {
				return identity{}, true, &VendorsFailedError{Sources: idSources, Errs: errs}
			}
			return identity{}, true, &CustomerNotFoundError{ID: key.String()}
		}
		return fromSnapshot(snap, c, gdapSrc, crayonSrc), true, nil
	case KeyCrayon:
		t, ok := snap.Tenant(key.ID)
		if !ok {
			return identity{}, false, nil
		}
		c, ok := snap.CustomerOf(model.VendorRef{Vendor: model.VendorCrayon, ID: t.ID})
		if !ok || t.Status == model.TenantStatusRemoved {
			return identity{}, true, &CustomerNotFoundError{ID: key.String()}
		}
		// c may be listed under another id (the tenant is an alias of it).
		return fromSnapshot(snap, c, gdapSrc, crayonSrc), true, nil
	case KeyBokaMera:
		b, ok := snap.BookingCustomer(key.ID)
		if !ok {
			return identity{}, false, nil
		}
		bookSources, _, _ := snap.Sources(now, model.VendorBokaMera)
		c := Merge([]model.CustomerRecord{b.CustomerRecord()})[0]
		const why = "a booking-system person has no Microsoft tenant"
		return identity{
			customer: c,
			gdap:     GDAPSection{Section: notApplicable(model.VendorGDAP, why)},
			tenants:  TenantSection{Section: notApplicable(model.VendorCrayon, why), Items: []model.Tenant{}},
			bookings: &BookingSection{Section: sectionOf(bookSources[0]), Items: []model.BookingCustomer{b}},
			sources:  bookSources,
		}, true, nil
	}
	return identity{}, true, &CustomerNotFoundError{ID: key.String()}
}

// fromSnapshot gathers the vendor records of a merged customer by id.
func fromSnapshot(snap *Snapshot, c model.Customer, gdapSrc, crayonSrc Source) identity {
	return identityOf(c, snap.GDAPCustomer, snap.Tenant, gdapSrc, crayonSrc)
}
