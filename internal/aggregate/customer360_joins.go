package aggregate

import (
	"slices"
	"strings"

	"github.com/partnerhub/gateway/internal/model"
)

// Join rules for vendors that hold no Microsoft tenant id:
//
//   - DBSync licensed users of an organization: users whose company name
//     equals, case-insensitively, a name a vendor knows the organization by
//     (GDAP's company name, Crayon's tenant names). For a booking-system
//     person: users whose user name equals the person's e-mail address,
//     case-insensitively. Names are all DBSync keeps, so a company renamed
//     at one vendor only is not found.
//   - BokaMera booking records of an organization: persons whose e-mail
//     domain equals one of the organization's domains: its onmicrosoft
//     domain, and the domain of its primary contact's e-mail unless that is
//     a public mail provider (then it says nothing about the organization).
//     The contact's domain is an inference: a contact at another firm would
//     bring that firm's people.

// distinctFold drops empty and case-insensitively repeated strings.
func distinctFold(in []string) []string {
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s != "" && !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, s) }) {
			out = append(out, s)
		}
	}
	return out
}

// publicMailDomains are mail providers anyone can use; a contact there says
// nothing about the organization's own domain.
var publicMailDomains = map[string]bool{
	"gmail.com": true, "googlemail.com": true, "outlook.com": true, "hotmail.com": true, "live.com": true,
	"msn.com": true, "yahoo.com": true, "icloud.com": true, "me.com": true, "aol.com": true,
	"proton.me": true, "protonmail.com": true, "gmx.com": true, "gmx.de": true, "web.de": true,
	"mail.com": true, "yandex.com": true, "hotmail.se": true, "live.se": true, "outlook.se": true, "yahoo.se": true,
}

// orgDomains are the e-mail domains that identify the organization: its
// onmicrosoft domain and its primary contact's domain (see the join rules).
func orgDomains(c model.Customer) []string {
	var ds []string
	if c.Domain != "" {
		ds = append(ds, strings.ToLower(c.Domain))
	}
	if c.PrimaryContact != nil {
		if d := emailDomain(c.PrimaryContact.Email); d != "" && !publicMailDomains[d] && !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
	}
	return ds
}

// emailDomain is the lower-case part after the last "@", or "".
func emailDomain(email string) string {
	i := strings.LastIndexByte(email, '@')
	if i < 0 || i == len(email)-1 {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(email[i+1:]))
}
