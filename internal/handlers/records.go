package handlers

import (
	"encoding/json"
	"time"

	"github.com/partnerhub/gateway/internal/store"
)

// The API's shapes of the gateway's own records. The store's types are how
// records are kept; these are how the contract shows them, so a column
// added to the database never leaks into an answer by accident.

// syncJob is a SyncJob in the contract.
type syncJob struct {
	ID           string     `json:"id"`
	Kind         string     `json:"kind"`
	CompanyID    string     `json:"company_id"`
	State        string     `json:"state"`
	VendorJobID  string     `json:"vendor_job_id,omitempty"`
	NotifyEmail  string     `json:"notify_email,omitempty"`
	RequestedBy  string     `json:"requested_by"`
	ClientID     string     `json:"client_id,omitempty"`
	UsersFound   *int       `json:"users_found,omitempty"`
	UsersCreated *int       `json:"users_created,omitempty"`
	UsersUpdated *int       `json:"users_updated,omitempty"`
	LastError    string     `json:"last_error,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
}

func newSyncJob(j store.SyncJob) syncJob {
	return syncJob{
		ID: j.ID, Kind: j.Kind, CompanyID: j.CompanyID, State: j.State, VendorJobID: j.VendorJobID,
		NotifyEmail: j.NotifyEmail, RequestedBy: j.RequestedBy, ClientID: j.ClientID,
		UsersFound: j.UsersFound, UsersCreated: j.Created, UsersUpdated: j.Updated, LastError: j.LastError,
		CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt, FinishedAt: j.FinishedAt,
	}
}

// auditEvent is an AuditEvent in the contract.
type auditEvent struct {
	ID        string          `json:"id"`
	Time      time.Time       `json:"time"`
	RequestID string          `json:"request_id"`
	Subject   string          `json:"subject"`
	ClientID  string          `json:"client_id,omitempty"`
	Operation string          `json:"operation"`
	Target    string          `json:"target,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	Outcome   string          `json:"outcome"`
	Status    int             `json:"status,omitempty"`
	Detail    string          `json:"detail,omitempty"`
}

func newAuditEvent(e store.AuditEvent) auditEvent {
	return auditEvent{
		ID: e.ID, Time: e.Time, RequestID: e.RequestID, Subject: e.Subject, ClientID: e.ClientID,
		Operation: e.Operation, Target: e.Target, Input: e.Input, Outcome: e.Outcome, Status: e.Status, Detail: e.Detail,
	}
}

// mapSlice applies f to every element; never nil, so an empty list is [].
func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, 0, len(in))
	for _, x := range in {
		out = append(out, f(x))
	}
	return out
}
