package bokamera

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream"
)

// wireCustomer is a customer item of GET /customers. encoding/json matches
// names case-insensitively, which covers the odd Firstname/Lastname casing.
type wireCustomer struct {
	ID        string `json:"Id"`
	CompanyID string `json:"CompanyId"`
	Firstname string `json:"Firstname"`
	Lastname  string `json:"Lastname"`
	Email     string `json:"Email"`
	Phone     string `json:"Phone"`
	Visible   bool   `json:"Visible"`
	// Created and Updated: names per a third-party client, unverified
	// (docs/vendors.md); a value that does not parse is left out rather
	// than failing the list.
	Created lenientTime `json:"Created"`
	Updated lenientTime `json:"Updated"`
}

// wireJob is AxemaUserSyncJobResponse.
type wireJob struct {
	ID           string   `json:"Id"`
	CompanyID    string   `json:"CompanyId"`
	Status       *int     `json:"Status"`
	StatusName   string   `json:"StatusName"`
	UsersFound   *int     `json:"UsersFound"`
	UsersCreated *int     `json:"UsersCreated"`
	UsersUpdated *int     `json:"UsersUpdated"`
	ErrorMessage string   `json:"ErrorMessage"`
	CreatedDate  wireTime `json:"CreatedDate"`
	UpdatedDate  wireTime `json:"UpdatedDate"`
}

// syncStates maps AxemaUserSyncStatus 0..3 (Pending, Processing, Completed,
// Failed) onto the normalized states.
var syncStates = []struct{ name, state string }{
	{"Pending", model.SyncPending},
	{"Processing", model.SyncRunning},
	{"Completed", model.SyncSucceeded},
	{"Failed", model.SyncFailed},
}

func (w wireJob) model() (model.AxemaSyncJob, error) {
	j := model.AxemaSyncJob{
		VendorJobID: lowerGUID(w.ID), CompanyID: lowerGUID(w.CompanyID), UsersFound: w.UsersFound, UsersCreated: w.UsersCreated,
		UsersUpdated: w.UsersUpdated, Error: bounded(w.ErrorMessage),
		CreatedAt: time.Time(w.CreatedDate), UpdatedAt: time.Time(w.UpdatedDate),
	}
	if w.ID == "" {
		return j, errors.New("sync job without Id")
	}
	switch {
	case w.Status != nil && *w.Status >= 0 && *w.Status < len(syncStates):
		j.State = syncStates[*w.Status].state
	default:
		// A host excluding default values would drop Status 0; the name stays.
		for _, s := range syncStates {
			if strings.EqualFold(w.StatusName, s.name) {
				j.State = s.state
			}
		}
	}
	if j.State == "" {
		return j, fmt.Errorf("unknown sync status %v %q", ptrVal(w.Status), w.StatusName)
	}
	return j, nil
}

func ptrVal(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// wireTime is a ServiceStack DateTime: ISO-8601, normally without an offset
// (read as UTC), but an offset or Z and fractional seconds are accepted.
type wireTime time.Time

func (t *wireTime) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == nil || *s == "" {
		*t = wireTime{}
		return nil
	}
	v, err := parseTime(*s)
	if err != nil {
		return err
	}
	*t = wireTime(v)
	return nil
}

func parseTime(s string) (time.Time, error) { return upstream.ParseTime(s) }

// lenientTime is an optional date that is zero when absent, null or not a
// date BokaMera is known to send.
type lenientTime time.Time

func (t *lenientTime) UnmarshalJSON(b []byte) error {
	var s *string
	*t = lenientTime{}
	if json.Unmarshal(b, &s) != nil || s == nil {
		return nil
	}
	if v, err := parseTime(*s); err == nil && v.Year() > 1 {
		*t = lenientTime(v)
	}
	return nil
}
