package model

import "time"

// Subscription statuses: Crayon's SubscriptionStatus flags, one name per
// flag. A value that is not exactly one known flag is SubscriptionUnknown.
const (
	SubscriptionActive               = "active"
	SubscriptionSuspended            = "suspended"
	SubscriptionDeleted              = "deleted"
	SubscriptionCustomerCancellation = "customer_cancellation"
	SubscriptionConverted            = "converted"
	SubscriptionExpired              = "expired"
	SubscriptionPending              = "pending"
	SubscriptionCancelled            = "cancelled"
	SubscriptionDisabled             = "disabled"
	SubscriptionUnknown              = "unknown"
)

// SubscriptionStatuses are the statuses a caller may filter on, in flag order.
var SubscriptionStatuses = []string{
	SubscriptionActive, SubscriptionSuspended, SubscriptionDeleted, SubscriptionCustomerCancellation,
	SubscriptionConverted, SubscriptionExpired, SubscriptionPending, SubscriptionCancelled, SubscriptionDisabled,
}

// Billing cycles (Crayon BillingCycleEnum).
const (
	BillingMonthly    = "monthly"
	BillingAnnual     = "annual"
	BillingNone       = "none"
	BillingOneTime    = "one_time"
	BillingBiAnnually = "bi_annually"
	BillingTwoYears   = "two_years"
	BillingThreeYears = "three_years"
	BillingQuarterly  = "quarterly"
	BillingUnknown    = "unknown"
)

// Subscription is a licence subscription a partner holds for a customer
// tenant (Crayon's Subscription): a product, a seat count and a term.
type Subscription struct {
	ID string `json:"id"`
	// CustomerID is the gateway customer the tenant belongs to
	// (GET /v1/customers/{id}); empty when it could not be worked out.
	CustomerID string `json:"customer_id,omitempty"`
	// TenantID is the Crayon customer tenant (GET /v1/tenants/{id}).
	TenantID                string `json:"tenant_id"`
	PublisherSubscriptionID string `json:"publisher_subscription_id,omitempty"`
	Name                    string `json:"name"`
	ProductName             string `json:"product_name"`
	PartNumber              string `json:"part_number"`
	Quantity                int    `json:"quantity"`
	Status                  string `json:"status"`
	BillingCycle            string `json:"billing_cycle"`
	// TermDuration is the ISO 8601 commitment term (e.g. P1Y), if known.
	TermDuration string     `json:"term_duration,omitempty"`
	TermStart    *time.Time `json:"term_start,omitempty"`
	TermEnd      *time.Time `json:"term_end,omitempty"`
	// AutoRenew is present only when the vendor says.
	AutoRenew *bool `json:"auto_renew,omitempty"`
	IsTrial   bool  `json:"is_trial"`
}
