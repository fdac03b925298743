package simseed

import (
	"fmt"
	"math"
)

// Scaled is true once Scale has replaced the seed data; the Crayon
// simulator then lists exactly the seeded tenants instead of padding them.
var Scaled bool

// Scale grows the seed data to n customers per vendor for load tests and
// frontend work (cmd/vendorsim): GDAP and Crayon each hold n organizations,
// of which the share joined are the same Microsoft tenant at both (the
// hand-written organizations above included), and BokaMera holds n people,
// a third of them at a seeded organization's mail domain. It must run
// before any simulator is built, and only in a process of its own: it
// replaces package state. Names are drawn deterministically so the merged
// list interleaves the vendors.
func Scale(n int, joined float64) {
	if n <= 0 {
		return
	}
	Scaled = true
	var gdap, crayon, both int
	for _, o := range Orgs {
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
	wantBoth := int(math.Round(joined * float64(n)))
	for i := 0; gdap < n || crayon < n; i++ {
		o := Org{
			Name:         name(i),
			TenantID:     fmt.Sprintf("%08x-5ca1-4e00-8000-%012x", i, i),
			DomainPrefix: fmt.Sprintf("scaledorg%06d", i),
			CrayonType:   2 - i%3/2, // a third are T1
		}
		o.Contact = Person{"Contact", fmt.Sprint(i), fmt.Sprintf("contact%d@%s.example", i, o.DomainPrefix), ""}
		switch {
		case both < wantBoth && gdap < n && crayon < n:
			o.InGDAP, o.InCrayon = true, true
			both++
		case gdap < n && (crayon >= n || i%2 == 0):
			o.InGDAP = true
		default:
			o.InCrayon = true
			// Every tenth Crayon-only tenant lacks its tenant id at Crayon.
			o.CrayonWithoutTenantID = i%10 == 0
		}
		if o.InGDAP {
			gdap++
		}
		if o.InCrayon {
			crayon++
		}
		Orgs = append(Orgs, o)
	}
	for i := len(BookingCustomers); i < n; i++ {
		domain := "gmail.com"
		if i%3 == 0 {
			domain = Orgs[i%len(Orgs)].DomainPrefix + ".example"
		}
		BookingCustomers = append(BookingCustomers, BookingCustomer{
			ID:    fmt.Sprintf("b0000000-5ca1-4e00-8000-%012x", i),
			First: firstNames[i%len(firstNames)], Last: fmt.Sprintf("%s%d", lastNames[i/len(firstNames)%len(lastNames)], i),
			Email:   fmt.Sprintf("person%d@%s", i, domain),
			Visible: i%7 != 0,
		})
	}
}

var (
	firstNames = []string{"Anna", "Björn", "Cecilia", "David", "Elin", "Fredrik", "Greta", "Hugo", "Ida", "Johan", "Klara", "Lukas"}
	lastNames  = []string{"Andersson", "Berg", "Carlsson", "Dahl", "Ek", "Falk", "Gran", "Holm", "Isaksson", "Jonsson"}
	words      = []string{"Alpha", "Boreal", "Cobalt", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper",
		"Krona", "Lumen", "Meridian", "Nordic", "Orbit", "Pine", "Quarry", "River", "Summit", "Tundra"}
	suffixes = []string{"AB", "Oy", "AS", "ApS", "GmbH", "Ltd", "Inc"}
)

// name is organization i's name, e.g. "Cobalt Fjord 17 AB".
func name(i int) string {
	return fmt.Sprintf("%s %s %d %s", words[(i*7)%len(words)], words[(i*13+5)%len(words)], i, suffixes[i%len(suffixes)])
}
