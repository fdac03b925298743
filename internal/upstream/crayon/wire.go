package crayon

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream"
)

// Crayon's wire shapes. Go matches JSON keys case-insensitively, so the
// PascalCase tags also accept other casings; enums stay plain ints so an
// unknown value never fails a decode.

type collection[T any] struct {
	Items     []T   `json:"Items"`
	TotalHits int64 `json:"TotalHits"`
}

type refDTO struct {
	ID   int    `json:"Id"`
	Name string `json:"Name"`
}

func (r *refDTO) model() *model.Ref {
	if r == nil {
		return nil
	}
	return &model.Ref{ID: strconv.Itoa(r.ID), Name: r.Name}
}

type tenantDTO struct {
	ID                          int     `json:"Id"`
	Name                        string  `json:"Name"`
	Publisher                   *refDTO `json:"Publisher"`
	Program                     *refDTO `json:"Program"`
	Organization                *refDTO `json:"Organization"`
	PublisherCustomerID         string  `json:"PublisherCustomerId"`
	ExternalPublisherCustomerID string  `json:"ExternalPublisherCustomerId"`
	Domain                      string  `json:"Domain"`
	DomainPrefix                string  `json:"DomainPrefix"`
	Reference                   string  `json:"Reference"`
	CustomerTenantType          int     `json:"CustomerTenantType"`
	EntityStatus                int     `json:"EntityStatus"`
}

func (t tenantDTO) model() model.Tenant {
	// Crayon often leaves Domain empty and holds only the onmicrosoft prefix.
	domain := strings.ToLower(strings.TrimSpace(t.Domain))
	if prefix := strings.ToLower(strings.TrimSpace(t.DomainPrefix)); domain == "" && prefix != "" {
		domain = prefix + ".onmicrosoft.com"
	}
	m := model.Tenant{
		ID:                  strconv.Itoa(t.ID),
		Name:                t.Name,
		Publisher:           t.Publisher.model(),
		Program:             t.Program.model(),
		Organization:        t.Organization.model(),
		MicrosoftTenantID:   strings.ToLower(strings.TrimSpace(t.ExternalPublisherCustomerID)),
		PublisherCustomerID: lowerGUID(strings.TrimSpace(t.PublisherCustomerID)),
		Domain:              domain,
		DomainPrefix:        t.DomainPrefix,
		Reference:           t.Reference,
		Type:                model.TenantTypeNone,
		Status:              model.TenantStatusActive,
	}
	switch t.CustomerTenantType {
	case 1:
		m.Type = model.TenantTypeT1
	case 2:
		m.Type = model.TenantTypeT2
	}
	if t.EntityStatus != 0 { // 1 Removed; anything newer is not active either
		m.Status = model.TenantStatusRemoved
	}
	return m
}

// lowerGUID lower-cases a GUID (vendors differ in case); anything else is
// kept as sent.
func lowerGUID(s string) string {
	if upstream.IsGUID(s) {
		return strings.ToLower(s)
	}
	return s
}

// tenantTypes maps the normalized tenant type to CustomerTenantType.
var tenantTypes = map[string]int{model.TenantTypeT1: 1, model.TenantTypeT2: 2}

// agreementTypes maps model agreement types to AgreementTypeConsent.
var agreementTypes = map[string]int{
	model.AgreementMicrosoftCloud:    0,
	model.AgreementMicrosoftCustomer: 1,
}

// AgreementTypeUnknown is reported for an AgreementTypeConsent value Crayon
// did not document.
const AgreementTypeUnknown = "unknown"

type agreementDTO struct {
	FirstName     string   `json:"FirstName"`
	LastName      string   `json:"LastName"`
	PhoneNumber   string   `json:"PhoneNumber,omitempty"`
	Email         string   `json:"Email"`
	DateAgreed    *isoTime `json:"DateAgreed,omitempty"`
	AgreementType int      `json:"AgreementType"`
}

func (a agreementDTO) model() model.Agreement {
	m := model.Agreement{Type: AgreementTypeUnknown, FirstName: a.FirstName, LastName: a.LastName,
		Email: a.Email, PhoneNumber: a.PhoneNumber}
	for name, n := range agreementTypes {
		if n == a.AgreementType {
			m.Type = name
		}
	}
	if a.DateAgreed != nil {
		m.AgreedAt = a.DateAgreed.Time
	}
	m.ID = model.AgreementID(m)
	return m
}

// isoTime is a DateTimeOffset: RFC 3339 on the wire, read in UTC. A value
// without an offset (a .NET DateTime) is taken as UTC too.
type isoTime struct{ time.Time }

func (t isoTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.UTC().Format(time.RFC3339))
}

func (t *isoTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == "" {
		return nil
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		v, err = time.Parse("2006-01-02T15:04:05.999999999", s)
	}
	if err != nil {
		return fmt.Errorf("date %q is not ISO 8601", s)
	}
	t.Time = v.UTC()
	return nil
}

type tokenDTO struct {
	AccessToken  string `json:"AccessToken"`
	Error        string `json:"Error"`
	ExpiresIn    int64  `json:"ExpiresIn"`
	TokenType    string `json:"TokenType"`
	RefreshToken string `json:"RefreshToken"`
	// ErrorDescription is set by plain OAuth error bodies ({"error", "error_description"}).
	ErrorDescription string `json:"error_description"`
}

type errorDTO struct {
	ErrorCode    string `json:"ErrorCode"`
	Message      string `json:"Message"`
	ObjectErrors []struct {
		ErrorCode string `json:"ErrorCode"`
		Message   string `json:"Message"`
	} `json:"ObjectErrors"`
}

// message folds per-field validation errors into the top message, since
// they say what was actually wrong.
func (e errorDTO) message() string {
	parts := make([]string, 0, len(e.ObjectErrors))
	for _, o := range e.ObjectErrors {
		if o.Message != "" {
			parts = append(parts, o.Message)
		}
	}
	msg := e.Message
	if len(parts) > 0 {
		msg = strings.TrimSpace(msg + " " + strings.Join(parts, " "))
	}
	return upstream.Truncate(msg, 500)
}
