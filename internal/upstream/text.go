package upstream

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Text and id helpers every vendor package shares.

// Truncate bounds s to about n bytes without splitting a UTF-8 sequence,
// marking a cut with "…". Vendor text copied into errors and logs goes
// through it.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// IsGUID reports whether s is a GUID in the 8-4-4-4-12 hex form, in either
// case (vendors differ; compare GUIDs with strings.EqualFold or lower them).
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			hex := '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
			if !hex {
				return false
			}
		}
	}
	return true
}

// BaseURL parses a vendor base URL: absolute http(s), a host, no query or
// fragment, and a path ending in "/" so routes resolve beneath it.
func BaseURL(name, raw string) (*url.URL, error) {
	u, err := HTTPURL(name, raw)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(u.Path, "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%s must end with / and carry no query or fragment", name)
	}
	return u, nil
}

// HTTPURL parses an absolute http(s) URL with a host (a token endpoint).
func HTTPURL(name, raw string) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, fmt.Errorf("%s is required", name)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New(name + " must be an absolute http(s) URL")
	}
	return u, nil
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02",
}

// ParseTime reads a vendor's ISO-8601 date-time leniently: with or without
// Z or an offset, with or without fractional seconds, or a bare date. A
// value without a zone is taken as UTC. The result is in UTC.
func ParseTime(s string) (time.Time, error) {
	for _, l := range timeLayouts {
		if v, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return v.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised date %q", s)
}
