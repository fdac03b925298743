// Package model holds the normalized, vendor-neutral types the gateway speaks.
//
// Vendor packages (internal/upstream/<vendor>) map their wire DTOs into these
// types; the aggregate package merges them; the handlers encode them. Nothing
// here knows about HTTP or about any vendor's dialect. JSON tags follow the
// public contract in api/openapi.yaml (snake_case, lower-case enums).
package model

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Vendor names, used in sources[], references and metric labels.
const (
	VendorGDAP     = "gdap"
	VendorBokaMera = "bokamera"
	VendorCrayon   = "crayon"
	VendorDBSync   = "dbsync"
)

// VendorRef points at one vendor's own record of something.
type VendorRef struct {
	Vendor string `json:"vendor"`
	ID     string `json:"id"`
}

// Contact is a person to reach at a customer.
type Contact struct {
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Email     string `json:"email,omitempty"`
	Phone     string `json:"phone,omitempty"`
}

// CustomerRecord is one vendor's view of a customer, before merging.
// Vendor packages produce these; aggregate joins them into Customers.
type CustomerRecord struct {
	Vendor   string
	VendorID string
	Name     string
	// MicrosoftTenantID is the customer's Entra ID tenant (lower-case GUID),
	// the primary join key between GDAP and Crayon.
	MicrosoftTenantID string
	// Domain is the customer's *.onmicrosoft.com domain (lower case), the
	// secondary join key.
	Domain  string
	Contact *Contact
	// CreatedAt and UpdatedAt are when the vendor created and last changed
	// the record, when it says (zero otherwise).
	CreatedAt, UpdatedAt time.Time
}

// Customer kinds: an organization (known to GDAP or Crayon) or a person
// known only to the booking system.
const (
	CustomerKindOrganization = "organization"
	CustomerKindPerson       = "person"
)

// Customer is one real organization (or booking-system person), merged
// across vendors.
type Customer struct {
	ID   string `json:"id"`
	Kind string `json:"kind"` // CustomerKindOrganization or CustomerKindPerson
	// Aliases are the other customer ids that name this customer: the ids
	// of vendor records merged into it ("crayon-1001" of a customer listed
	// as "ms-..."). Never nil once merged.
	Aliases           []string    `json:"aliases"`
	Name              string      `json:"name"`
	MicrosoftTenantID string      `json:"microsoft_tenant_id,omitempty"`
	Domain            string      `json:"domain,omitempty"`
	PrimaryContact    *Contact    `json:"primary_contact,omitempty"`
	References        []VendorRef `json:"references"`
	// CreatedAt is the earliest creation date its vendors know, UpdatedAt
	// the latest change; absent when no vendor says (only BokaMera does).
	CreatedAt *time.Time `json:"created_at,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

// Ref is a small id+name reference (publisher, organization, program).
type Ref struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// Tenant types and statuses (Crayon CustomerTenantType / EntityStatus).
const (
	TenantTypeNone = "none"
	TenantTypeT1   = "t1"
	TenantTypeT2   = "t2"

	TenantStatusActive  = "active"
	TenantStatusRemoved = "removed"
)

// Tenant is a customer tenant at a cloud publisher, held by Crayon.
type Tenant struct {
	ID                  string `json:"id"`
	Name                string `json:"name"`
	Publisher           *Ref   `json:"publisher,omitempty"`
	Program             *Ref   `json:"program,omitempty"`
	Organization        *Ref   `json:"organization,omitempty"`
	MicrosoftTenantID   string `json:"microsoft_tenant_id,omitempty"`
	PublisherCustomerID string `json:"publisher_customer_id,omitempty"`
	Domain              string `json:"domain,omitempty"`
	DomainPrefix        string `json:"domain_prefix,omitempty"`
	Reference           string `json:"reference,omitempty"`
	Type                string `json:"type"`
	Status              string `json:"status"`
	// GDAP is the GDAP view of the same Microsoft tenant, when enriched.
	GDAP *GDAPCustomer `json:"gdap,omitempty"`
}

// GDAPCustomer is Appxite GDAP's record of a partner customer.
type GDAPCustomer struct {
	MicrosoftTenantID string   `json:"microsoft_tenant_id"`
	PartnerTenantID   string   `json:"partner_tenant_id,omitempty"`
	CompanyName       string   `json:"company_name"`
	Domain            string   `json:"domain,omitempty"`
	PrimaryContact    *Contact `json:"primary_contact,omitempty"`
}

// Agreement types (Crayon AgreementTypeConsent).
const (
	AgreementMicrosoftCloud    = "microsoft_cloud_agreement"    // 0
	AgreementMicrosoftCustomer = "microsoft_customer_agreement" // 1
)

// Agreement is a consent to a Microsoft agreement for one tenant.
type Agreement struct {
	// ID is derived from what identifies a consent (AgreementID), by the
	// Crayon client: Crayon gives agreements no id of their own.
	ID          string    `json:"id"`
	Type        string    `json:"agreement_type"`
	FirstName   string    `json:"first_name"`
	LastName    string    `json:"last_name"`
	Email       string    `json:"email"`
	PhoneNumber string    `json:"phone_number,omitempty"`
	AgreedAt    time.Time `json:"agreed_at"`
}

// AgreementID is an agreement's stable id within its tenant: 16 hex digits
// of a hash of its type, e-mail (case-insensitive) and consent time to the
// second, the things that make one consent another. Names and phone can be
// corrected without changing it.
func AgreementID(a Agreement) string {
	sum := sha256.Sum256([]byte(a.Type + "\x00" + strings.ToLower(strings.TrimSpace(a.Email)) + "\x00" + a.AgreedAt.UTC().Format(time.RFC3339)))
	return hex.EncodeToString(sum[:8])
}

// BookingCustomer is a person in the BokaMera booking system.
type BookingCustomer struct {
	ID        string `json:"id"`
	CompanyID string `json:"company_id,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Email     string `json:"email,omitempty"`
	Phone     string `json:"phone,omitempty"`
	Visible   bool   `json:"visible"`
	// CreatedAt and UpdatedAt come from BokaMera's Created/Updated, when
	// sent; they reach callers through the merged customer.
	CreatedAt time.Time `json:"-"`
	UpdatedAt time.Time `json:"-"`
}

// CustomerRecord turns a booking-system person into a mergeable record.
func (b BookingCustomer) CustomerRecord() CustomerRecord {
	name := b.FirstName
	if b.LastName != "" {
		if name != "" {
			name += " "
		}
		name += b.LastName
	}
	if name == "" {
		name = b.Email
	}
	c := &Contact{FirstName: b.FirstName, LastName: b.LastName, Email: b.Email, Phone: b.Phone}
	return CustomerRecord{Vendor: VendorBokaMera, VendorID: b.ID, Name: name, Contact: c, CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt}
}

// License is a DBSync licensed user of a company.
type License struct {
	// ID is the licence manager's user id, the licence's stable id
	// (names can change); DBSync's userId.
	ID        string `json:"id,omitempty"`
	Company   string `json:"company"`
	User      string `json:"user"`
	CompanyID string `json:"company_id,omitempty"`
	UserID    string `json:"user_id,omitempty"`
}

// LicenseCheck is the answer to "may this user run the integration".
type LicenseCheck struct {
	ID       string `json:"id,omitempty"` // as License.ID
	Company  string `json:"company"`
	User     string `json:"user"`
	Licensed bool   `json:"licensed"`
	UserID   string `json:"user_id,omitempty"`
	// Reason says why Licensed is false (an expired licence, say).
	Reason string `json:"reason,omitempty"`
}

// LicenseQuota is the partner app's licence usage, when the vendor sends it.
type LicenseQuota struct {
	AnnualQuota int `json:"annual_quota"`
	Used        int `json:"used"`
	Active      int `json:"active"`
}

// Role is an Entra built-in role GDAP can delegate.
type Role struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Sync job kinds: what a sync job synchronizes.
const (
	// SyncKindGDAPCustomers: GDAP's partner customer sync (result by e-mail).
	SyncKindGDAPCustomers = "gdap_customers"
	// SyncKindAxemaUsers: BokaMera's Axema Vaka user sync.
	SyncKindAxemaUsers = "axema_users"
	// SyncKindGDAPOnboarding: moving one customer onto GDAP (its steps run
	// in the background; one active per customer tenant).
	SyncKindGDAPOnboarding = "gdap_onboarding"
)

// SyncKind is kind in the current spelling: contract 1.x spelled the sync
// kinds with hyphens (gdap-customers), and rows stored then may still say so.
func SyncKind(kind string) string {
	switch kind {
	case "gdap-customers":
		return SyncKindGDAPCustomers
	case "axema-users":
		return SyncKindAxemaUsers
	case "gdap-onboarding":
		return SyncKindGDAPOnboarding
	}
	return kind
}

// Sync job states, one model over BokaMera's 0..3 and GDAP's fire-and-forget:
// the states of the gateway's own job records and of the vendors' jobs alike.
const (
	SyncPending   = "pending"
	SyncRunning   = "running"
	SyncSucceeded = "succeeded"
	SyncFailed    = "failed"
	// SyncAccepted: the vendor accepted the job but never reports completion
	// (GDAP e-mails the result instead).
	SyncAccepted = "accepted"
)

// AxemaSyncJob is BokaMera's record of one Axema user sync.
type AxemaSyncJob struct {
	VendorJobID  string
	CompanyID    string
	State        string // SyncPending .. SyncFailed
	UsersFound   *int
	UsersCreated *int
	UsersUpdated *int
	Error        string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// CustomerRecord turns GDAP's view into a mergeable record.
func (g GDAPCustomer) CustomerRecord() CustomerRecord {
	return CustomerRecord{
		Vendor: VendorGDAP, VendorID: g.MicrosoftTenantID, Name: g.CompanyName,
		MicrosoftTenantID: g.MicrosoftTenantID, Domain: g.Domain, Contact: g.PrimaryContact,
	}
}

// CustomerRecord turns a Crayon tenant into a mergeable record.
func (t Tenant) CustomerRecord() CustomerRecord {
	return CustomerRecord{
		Vendor: VendorCrayon, VendorID: t.ID, Name: t.Name,
		MicrosoftTenantID: t.MicrosoftTenantID, Domain: t.Domain,
	}
}
