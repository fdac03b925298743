package model

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"
)

// ErrAlreadyRegistered: the licence manager already has this user; a
// registration changed nothing. Vendor clients wrap their own error with it.
var ErrAlreadyRegistered = errors.New("the user is already registered")

// QuotaExhaustedError: the licence manager refused a registration because
// the partner app's annual quota of licensed users is used up. Quota is the
// usage the vendor reported, nil when unknown; Err is the vendor's error.
type QuotaExhaustedError struct {
	Quota *LicenseQuota
	Err   error
}

func (e *QuotaExhaustedError) Error() string {
	return "the annual licence quota is exhausted: " + e.Err.Error()
}

func (e *QuotaExhaustedError) Unwrap() error { return e.Err }

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

// AgreementID is an agreement's stable id within its tenant: 16 hex digits
// of a hash of its type, e-mail (case-insensitive) and consent time to the
// second, the things that make one consent another. Names and phone can be
// corrected without changing it.
func AgreementID(a Agreement) string {
	sum := sha256.Sum256([]byte(a.Type + "\x00" + strings.ToLower(strings.TrimSpace(a.Email)) + "\x00" + a.AgreedAt.UTC().Format(time.RFC3339)))
	return hex.EncodeToString(sum[:8])
}
