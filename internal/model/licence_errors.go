package model

import "errors"

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
