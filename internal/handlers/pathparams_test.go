package handlers

import (
	"strings"
	"testing"
)

// TestPathRulesFollowTheContract checks the rules read from
// api/openapi.yaml against values the contract allows and forbids.
func TestPathRulesFollowTheContract(t *testing.T) {
	rules, err := loadPathRules()
	if err != nil {
		t.Fatal(err)
	}
	find := func(route, name string) pathRule {
		t.Helper()
		for _, r := range rules[route] {
			if r.name == name {
				return r
			}
		}
		t.Fatalf("no rule for %s path.%s", route, name)
		return pathRule{}
	}
	uuid := "3f1c2b8e-5a4d-4c7b-9e21-6d0f8a7b1c01"
	for _, c := range []struct {
		route, name string
		ok, bad     []string
	}{
		{"GET /v1/tenants/{id}", "id", []string{"1", "9999999999"}, []string{"0", "01", "99999999999", "9223372036854775807", "-1", "1a"}},
		{"POST /v1/tenants/{id}/agreements", "id", []string{"42"}, []string{"12345678901"}},
		{"GET /v1/customers/{id}", "id", []string{"ms-" + uuid, "crayon-1", "bokamera-" + uuid}, []string{"crayon-99999999999", "ms-x", "crayon-0"}},
		{"GET /v1/licenses/{company}/{user}", "company", []string{"Contoso AB", strings.Repeat("é", 200)}, []string{"", strings.Repeat("a", 201)}},
		{"DELETE /v1/licenses/{company}/{user}", "user", []string{"ann"}, []string{strings.Repeat("a", 201)}},
		{"GET /v1/sync-jobs/{id}", "id", []string{uuid}, []string{"1", uuid + "0"}},
	} {
		rule := find(c.route, c.name)
		for _, v := range c.ok {
			if msg := rule.check(v); msg != "" {
				t.Errorf("%s path.%s %q refused: %s", c.route, c.name, v, msg)
			}
		}
		for _, v := range c.bad {
			if rule.check(v) == "" {
				t.Errorf("%s path.%s %q accepted", c.route, c.name, v)
			}
		}
	}
}
