package simseed

import "testing"

// Scale gives each vendor exactly n records with the asked share joined.
// It replaces package state, so it runs on a copy restored afterwards.
func TestScaleGivesEachVendorNWithTheJoinedShare(t *testing.T) {
	orgs, bookings := Orgs, BookingCustomers
	t.Cleanup(func() { Orgs, BookingCustomers, Scaled = orgs, bookings, false })

	Scale(1000, 0.6)
	var gdap, crayon, both int
	tenants := map[string]bool{}
	for _, o := range Orgs {
		if tenants[o.TenantID] {
			t.Fatalf("tenant id %s twice", o.TenantID)
		}
		tenants[o.TenantID] = true
		if o.InGDAP {
			gdap++
		}
		if o.InCrayon {
			crayon++
		}
		if o.InGDAP && o.InCrayon {
			both++
		}
	}
	if gdap != 1000 || crayon != 1000 || both != 600 || len(BookingCustomers) != 1000 || !Scaled {
		t.Fatalf("gdap %d, crayon %d, joined %d, bookings %d; want 1000, 1000, 600, 1000", gdap, crayon, both, len(BookingCustomers))
	}
	ids := map[string]bool{}
	for _, b := range BookingCustomers {
		if ids[b.ID] {
			t.Fatalf("booking id %s twice", b.ID)
		}
		ids[b.ID] = true
	}
}
