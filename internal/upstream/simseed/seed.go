// Package simseed is the shared seed data of the vendor simulators, so the
// same organizations show up consistently across vendors: several customers
// are known to both GDAP and Crayon under the same Microsoft tenant id, some
// only to one of them, and the booking system and license manager hold
// people and users of the same companies.
package simseed

// PartnerTenantID is the Microsoft partner (provider) tenant of the seeded
// partner; GDAP's PartitionKey and the partnerId/providerId it expects.
const PartnerTenantID = "918c6a1a-339c-43ec-a8ea-e0343eea7e0b"

// CrayonOrganizationID is the reseller organization owning the seeded tenants.
const CrayonOrganizationID = 4703

// BokaMeraCompanyID is the booking-system company the gateway acts for.
const BokaMeraCompanyID = "5b4a2c7e-9d1f-4e8a-b3c6-0f7e2d1a9c84"

// Org is one seeded end-customer organization.
type Org struct {
	Name         string
	TenantID     string // Microsoft customer tenant id (lower-case GUID)
	DomainPrefix string // <prefix>.onmicrosoft.com
	Contact      Person
	InGDAP       bool
	InCrayon     bool
	// CrayonWithoutTenantID: Crayon holds the tenant but without
	// ExternalPublisherCustomerId, so only the domain can join it.
	CrayonWithoutTenantID bool
	CrayonType            int // 1 T1, 2 T2
	Removed               bool
}

// Person is a contact.
type Person struct {
	First, Last, Email, Phone string
}

// Domain is the organization's onmicrosoft domain.
func (o Org) Domain() string { return o.DomainPrefix + ".onmicrosoft.com" }

// Orgs are the seeded organizations, in a fixed order.
var Orgs = []Org{
	{Name: "Contoso AB", TenantID: "3f1c2b8e-5a4d-4c7b-9e21-6d0f8a7b1c01", DomainPrefix: "contosoab",
		Contact: Person{"Anna", "Lindqvist", "anna.lindqvist@contoso.se", "+46 8 555 010 01"}, InGDAP: true, InCrayon: true, CrayonType: 2},
	{Name: "Fabrikam Oy", TenantID: "7a2e9c41-0b3d-4f6e-8a15-2c9d4e6f7a02", DomainPrefix: "fabrikamoy",
		Contact: Person{"Mikko", "Virtanen", "mikko.virtanen@fabrikam.fi", "+358 9 555 0102"}, InGDAP: true, InCrayon: true, CrayonType: 2},
	{Name: "Northwind Traders AS", TenantID: "c4d5e6f7-1a2b-4c3d-9e8f-0a1b2c3d4e03", DomainPrefix: "northwindas",
		Contact: Person{"Ingrid", "Hansen", "ingrid.hansen@northwind.no", "+47 22 55 01 03"}, InGDAP: true, InCrayon: true, CrayonWithoutTenantID: true, CrayonType: 1},
	{Name: "Tailspin Toys ApS", TenantID: "0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c04", DomainPrefix: "tailspintoys",
		Contact: Person{"Lars", "Jensen", "lars.jensen@tailspin.dk", "+45 33 55 01 04"}, InGDAP: true, InCrayon: true, CrayonType: 2},
	{Name: "Woodgrove Bank", TenantID: "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d05", DomainPrefix: "woodgrovebank",
		Contact: Person{"Erik", "Svensson", "erik.svensson@woodgrove.se", "+46 31 555 01 05"}, InGDAP: true},
	{Name: "Adventure Works GmbH", TenantID: "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c06", DomainPrefix: "adventureworksde",
		Contact: Person{"Julia", "Becker", "julia.becker@adventure-works.de", "+49 30 5550106"}, InGDAP: true},
	{Name: "Litware Inc", TenantID: "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e07", DomainPrefix: "litwareinc",
		Contact: Person{"Sam", "Carter", "sam.carter@litware.com", "+1 425 555 0107"}, InCrayon: true, CrayonType: 2},
	{Name: "Proseware AB", TenantID: "d1e2f3a4-b5c6-4d7e-8f9a-0b1c2d3e4f08", DomainPrefix: "prosewareab",
		Contact: Person{"Karin", "Nilsson", "karin.nilsson@proseware.se", "+46 40 555 01 08"}, InCrayon: true, CrayonType: 2},
	{Name: "Wide World Importers", TenantID: "6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b09", DomainPrefix: "wideworldimporters",
		Contact: Person{"Noah", "Berg", "noah.berg@wideworldimporters.com", "+46 8 555 010 09"}, InCrayon: true, CrayonType: 1},
	{Name: "Alpine Ski House", TenantID: "ab12cd34-ef56-4a78-9b0c-de12f3456a10", DomainPrefix: "alpineskihouse",
		Contact: Person{"Heidi", "Moser", "heidi.moser@alpineskihouse.at", "+43 1 555 0110"}, InCrayon: true, CrayonType: 2, Removed: true},
	{Name: "Coho Winery", TenantID: "bc23de45-f067-4b89-8c1d-ef23a4567b11", DomainPrefix: "cohowinery",
		Contact: Person{"Marta", "Rossi", "marta.rossi@cohowinery.it", "+39 06 5550 111"}, InGDAP: true, InCrayon: true, CrayonType: 2},
	{Name: "Fourth Coffee", TenantID: "cd34ef56-a178-4c90-9d2e-fa34b5678c12", DomainPrefix: "fourthcoffee",
		Contact: Person{"Olivia", "Dahl", "olivia.dahl@fourthcoffee.com", "+46 8 555 010 12"}, InGDAP: true, InCrayon: true, CrayonType: 2},
}

// BookingCustomer is a person in the booking system (BokaMera).
type BookingCustomer struct {
	ID                  string
	First, Last         string
	Email, Phone        string
	Visible             bool
	SubscribedToLetters bool
}

// BookingCustomers are the BokaMera customers of BokaMeraCompanyID.
var BookingCustomers = []BookingCustomer{
	{ID: "e1a2b3c4-d5e6-4f70-8a91-b2c3d4e5f601", First: "Anna", Last: "Lindqvist", Email: "anna.lindqvist@contoso.se", Phone: "+46 8 555 010 01", Visible: true},
	{ID: "e1a2b3c4-d5e6-4f70-8a91-b2c3d4e5f602", First: "Per", Last: "Ek", Email: "per.ek@contoso.se", Phone: "+46 8 555 010 21", Visible: true},
	{ID: "e1a2b3c4-d5e6-4f70-8a91-b2c3d4e5f603", First: "Karin", Last: "Nilsson", Email: "karin.nilsson@proseware.se", Phone: "+46 40 555 01 08", Visible: true},
	{ID: "e1a2b3c4-d5e6-4f70-8a91-b2c3d4e5f604", First: "Olle", Last: "Holm", Email: "olle.holm@gmail.com", Phone: "+46 70 555 01 44", Visible: true},
	{ID: "e1a2b3c4-d5e6-4f70-8a91-b2c3d4e5f605", First: "Sara", Last: "Wik", Email: "sara.wik@outlook.com", Phone: "+46 70 555 01 45", Visible: false},
}

// LicensedUser is a DBSync registered user.
type LicensedUser struct {
	Company, User string
}

// LicensedUsers are already registered with the DBSync license manager.
var LicensedUsers = []LicensedUser{
	{Company: "Contoso AB", User: "anna.lindqvist@contoso.se"},
	{Company: "Contoso AB", User: "per.ek@contoso.se"},
	{Company: "Fabrikam Oy", User: "mikko.virtanen@fabrikam.fi"},
	{Company: "Proseware AB", User: "karin.nilsson@proseware.se"},
}

// DBSyncAnnualQuota is the seeded partner app key's annual licensed-user quota.
const DBSyncAnnualQuota = 25

// GDAPRole is an Entra built-in role GDAP offers.
type GDAPRole struct{ ID, Name, Description string }

// GDAPRoles is the GetAvailableRoles catalogue.
var GDAPRoles = []GDAPRole{
	{"0526716b-113d-4c15-b2c8-68e3c22b9f80", "Authentication policy administrator", "Can create and manage all aspects of authentication methods and password protection policies."},
	{"f023fd81-a637-4b56-95fd-791ac0226033", "Service support administrator", "Can read service health information and manage support tickets."},
	{"729827e3-9c14-49f7-bb1b-9608f156bbb8", "Helpdesk administrator", "Can reset passwords for non-administrators and Helpdesk administrators."},
	{"fe930be7-5e62-47db-91af-98c3a49a38b1", "User administrator", "Can manage all aspects of users and groups, including resetting passwords for limited admins."},
	{"4a5d8f65-41da-4de4-8968-e035b65339cf", "Reports reader", "Can read sign-in and audit reports."},
	{"f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global reader", "Can read everything that a global administrator can, but not update anything."},
}
