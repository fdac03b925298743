package model

import "time"

// GDAP relationship statuses: Microsoft Graph's delegatedAdminRelationship
// status in snake case; anything else is RelationshipUnknown.
const (
	RelationshipCreated              = "created"
	RelationshipApprovalPending      = "approval_pending"
	RelationshipApproved             = "approved"
	RelationshipActivating           = "activating"
	RelationshipActive               = "active"
	RelationshipExpiring             = "expiring"
	RelationshipExpired              = "expired"
	RelationshipTerminationRequested = "termination_requested"
	RelationshipTerminating          = "terminating"
	RelationshipTerminated           = "terminated"
	RelationshipUnknown              = "unknown"
)

// GDAPRelationship is a delegated-admin relationship between the partner
// and a customer tenant: which Entra roles the partner holds there, and
// until when.
type GDAPRelationship struct {
	ID               string `json:"id"`
	DisplayName      string `json:"display_name,omitempty"`
	Status           string `json:"status"`
	CustomerTenantID string `json:"customer_tenant_id"`
	CustomerName     string `json:"customer_name,omitempty"`
	// Duration is ISO 8601 (P1D..P2Y); AutoExtendDuration P0D/PT0S means none.
	Duration           string     `json:"duration,omitempty"`
	AutoExtendDuration string     `json:"auto_extend_duration,omitempty"`
	CreatedAt          *time.Time `json:"created_at,omitempty"`
	ActivatedAt        *time.Time `json:"activated_at,omitempty"`
	EndsAt             *time.Time `json:"ends_at,omitempty"`
	// RoleIDs are the Entra role definition ids the relationship grants.
	RoleIDs []string `json:"role_ids"`
}
