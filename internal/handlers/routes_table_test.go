package handlers

import (
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/problem"
	"github.com/partnerhub/gateway/internal/syncjobs"
	"github.com/partnerhub/gateway/internal/upstream"
)

func TestOperationalRoutes(t *testing.T) {
	runTable(t, []routeCase{
		{method: "GET", path: "/healthz", status: 200},
		{method: "GET", path: "/readyz", status: 200},
		{name: "draining", method: "GET", path: "/readyz", fail: map[string]error{"ready": errStub}, status: 503, headers: map[string]string{"Retry-After": "5"}},
		{method: "GET", path: "/openapi.yaml", status: 200, headers: map[string]string{"Content-Type": "application/yaml"}},
		{method: "GET", path: "/metrics", status: 200},
		{method: "GET", path: "/nowhere", status: 404, problem: "not-found"},
		{method: "DELETE", path: "/v1/customers", client: admin, status: 405, problem: "method-not-allowed", headers: map[string]string{"Allow": "GET, HEAD, OPTIONS"}},
		{method: "OPTIONS", path: "/v1/licenses", status: 204, headers: map[string]string{"Allow": "GET, HEAD, POST, OPTIONS"}},
	})
}

func TestAuthenticationAndPermissions(t *testing.T) {
	runTable(t, []routeCase{
		{name: "no token", method: "GET", path: "/v1/customers", status: 401, problem: "unauthorized", headers: map[string]string{"WWW-Authenticate": "Bearer"}},
		{name: "bad token", method: "GET", path: "/v1/customers", header: map[string]string{"Authorization": "Bearer x.y.z"}, status: 401, problem: "unauthorized", headers: map[string]string{"WWW-Authenticate": "Bearer"}},
		{name: "reader writes", method: "POST", path: "/v1/licenses", client: reader, body: `{"company":"acme","user":"ada"}`, status: 403, problem: "forbidden", check: notCalled("licenses.register")},
		{name: "operator reads audit", method: "GET", path: "/v1/audit-events", client: operator, status: 403, problem: "forbidden"},
		{name: "operator onboards", method: "POST", path: "/v1/gdap/onboardings", client: operator, body: `{}`, status: 403, problem: "forbidden"},
	})
}

var errStub = &upstream.Error{Vendor: "stub", Op: "fail", Status: 500}

func TestCustomerRoutes(t *testing.T) {
	runTable(t, []routeCase{
		{method: "GET", path: "/v1/customers", client: reader, status: 200, headers: map[string]string{"ETag": `W/"`}, check: listed(2, true)},
		{name: "page", method: "GET", path: "/v1/customers?page_size=1&vendor=gdap&q=cont", client: reader, status: 200, check: listed(1, true)},
		{name: "one vendor down", method: "GET", path: "/v1/customers", client: reader, fail: map[string]error{"customers.crayon": unavailable(model.VendorCrayon)}, status: 200, check: listed(2, false)},
		{name: "negative page size", method: "GET", path: "/v1/customers?page_size=-1", client: reader, status: 400, problem: "invalid-request", errors: []string{"query.page_size"}},
		{name: "non-numeric page size", method: "GET", path: "/v1/customers?page_size=abc", client: reader, status: 400, problem: "invalid-request", errors: []string{"query.page_size"}},
		{name: "page size too large", method: "GET", path: "/v1/customers?page_size=100000", client: reader, status: 400, problem: "invalid-request", errors: []string{"query.page_size"}},
		{name: "long q", method: "GET", path: "/v1/customers?q=" + strings.Repeat("a", 201), client: reader, status: 400, problem: "invalid-request", errors: []string{"query.q"}},
		{name: "every vendor down", method: "GET", path: "/v1/customers?vendor=crayon", client: reader, fail: map[string]error{"customers.crayon": unavailable(model.VendorCrayon)}, status: 503, problem: "vendor-unavailable", headers: map[string]string{"Retry-After": "7"}},
		{name: "bad query", method: "GET", path: "/v1/customers?page_size=0&vendor=sap&page_token=nope&x=1", client: reader, status: 400, problem: "invalid-request",
			errors: []string{"query.x", "query.vendor", "query.page_size", "query.page_token"}},
		{name: "repeated", method: "GET", path: "/v1/customers?q=a&q=b", client: reader, status: 400, problem: "invalid-request", errors: []string{"query.q"}},
		{method: "GET", path: "/v1/customers/ms-" + testTenantID, client: reader, status: 200},
		{name: "bad id", method: "GET", path: "/v1/customers/sap-1?x=1", client: reader, status: 400, problem: "invalid-request", errors: []string{"path.id"}},
		{name: "unknown", method: "GET", path: "/v1/customers/bokamera-" + testJobID, client: reader, status: 404, problem: "not-found"},
		{name: "alias", method: "GET", path: "/v1/customers/crayon-43", client: reader, status: 200,
			headers: map[string]string{"Link": `</v1/customers/ms-` + testTenantID + `>; rel="canonical"`}, check: func(t *testing.T, b map[string]any, _ *stubs) {
				c := b["customer"].(map[string]any)
				if c["id"] != "ms-"+testTenantID || c["kind"] != "organization" || !slices.Contains(c["aliases"].([]any), any("crayon-43")) {
					t.Errorf("customer %v, want the canonical one with crayon-43 among its aliases", c)
				}
			}},
		{name: "canonical id has no link", method: "GET", path: "/v1/customers/ms-" + testTenantID, client: reader, status: 200, headers: map[string]string{"Link": ""}},
		{name: "every section", method: "GET", path: "/v1/customers/crayon-42", client: reader, status: 200,
			check: func(t *testing.T, b map[string]any, s *stubs) {
				for _, sec := range aggregate.SectionNames {
					if _, ok := b[sec]; !ok {
						t.Errorf("section %s missing without include", sec)
					}
				}
				if !s.called("agreements") {
					t.Error("the tenant's agreements were not read")
				}
			}},
		{name: "include", method: "GET", path: "/v1/customers/crayon-42?include=licenses,gdap", client: reader, status: 200,
			check: func(t *testing.T, b map[string]any, s *stubs) {
				for _, sec := range aggregate.SectionNames {
					_, present := b[sec]
					if want := sec == "licenses" || sec == "gdap"; present != want {
						t.Errorf("section %s present %v, want %v", sec, present, want)
					}
				}
				gdap := b["gdap"].(map[string]any)
				if at, err := time.Parse(time.RFC3339, gdap["as_of"].(string)); err != nil || time.Since(at) > time.Minute {
					t.Errorf("gdap as_of %v: %v", gdap["as_of"], err)
				}
				if s.called("agreements") {
					t.Errorf("agreements read although not included: %v", s.calls)
				}
			}},
		{name: "include empty", method: "GET", path: "/v1/customers/ms-" + testTenantID + "?include=", client: reader, status: 400, problem: "invalid-request",
			errors: []string{"query.include"}, check: fieldCode(problem.CodeEmpty)},
		{name: "include unknown", method: "GET", path: "/v1/customers/ms-" + testTenantID + "?include=gdap,invoices", client: reader, status: 400, problem: "invalid-request",
			errors: []string{"query.include"}, check: fieldCode(problem.CodeInvalidChoice)},
		{name: "include twice", method: "GET", path: "/v1/customers/ms-" + testTenantID + "?include=gdap,gdap", client: reader, status: 400, problem: "invalid-request",
			errors: []string{"query.include"}, check: fieldCode(problem.CodeDuplicate)},
	})
}

// fieldCode checks that the problem's only field error has code.
func fieldCode(code string) func(*testing.T, map[string]any, *stubs) {
	return func(t *testing.T, b map[string]any, _ *stubs) {
		t.Helper()
		es, _ := b["errors"].([]any)
		if len(es) != 1 || es[0].(map[string]any)["code"] != code {
			t.Errorf("errors %v, want one with code %s", es, code)
		}
	}
}

func TestTenantRoutes(t *testing.T) {
	agreement := `{"agreement_type":"` + model.AgreementMicrosoftCustomer + `","first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","agreed_at":"2026-01-01T00:00:00Z"}`
	addedID := model.AgreementID(model.Agreement{Type: model.AgreementMicrosoftCustomer, Email: "ADA@example.com", AgreedAt: time.Date(2026, 1, 1, 1, 0, 0, 0, time.FixedZone("CET", 3600))})
	stubAgreementID := model.AgreementID(model.Agreement{Type: model.AgreementMicrosoftCustomer, Email: "ada@example.com"})
	runTable(t, []routeCase{
		{method: "GET", path: "/v1/tenants?page_size=1", client: reader, status: 200, check: func(t *testing.T, b map[string]any, s *stubs) {
			listed(1, true)(t, b, s)
			if b["next_page_token"] == nil {
				t.Error("no next_page_token for page 1 of 3")
			}
		}},
		{name: "bad query", method: "GET", path: "/v1/tenants?organization_id=0&tenant_type=T3&page_token=zz", client: reader, status: 400, problem: "invalid-request",
			errors: []string{"query.organization_id", "query.tenant_type", "query.page_token"}},
		{name: "more", method: "GET", path: "/v1/tenants?organization_id=abc&publisher_id=0&page_size=0&search=x&q=" + strings.Repeat("a", 201), client: reader, status: 400, problem: "invalid-request",
			errors: []string{"query.search", "query.organization_id", "query.publisher_id", "query.q", "query.page_size"}, check: notCalled("tenants.list")},
		{name: "no permission", method: "GET", path: "/v1/tenants", client: "guest", status: 403, problem: "forbidden"},
		{name: "crayon down", method: "GET", path: "/v1/tenants", client: reader, fail: map[string]error{"tenants.list": unavailable(model.VendorCrayon)}, status: 503, problem: "vendor-unavailable", headers: map[string]string{"Retry-After": "7"}},
		{method: "GET", path: "/v1/tenants/42", client: reader, status: 200, check: sourcedOne("id", true)},
		{name: "gdap down", method: "GET", path: "/v1/tenants/42", client: reader, fail: map[string]error{"gdap.customers": unavailable(model.VendorGDAP)}, status: 200, check: sourcedOne("id", false)},
		{name: "bad id", method: "GET", path: "/v1/tenants/042", client: reader, status: 400, problem: "invalid-request", errors: []string{"path.id"}},
		{name: "unknown", method: "GET", path: "/v1/tenants/43", client: reader, fail: map[string]error{"tenants.get": notFound(model.VendorCrayon)}, status: 404, problem: "not-found"},
		{method: "GET", path: "/v1/tenants/42/agreements", client: reader, status: 200, check: listed(1, true)},
		{name: "vendor 429", method: "GET", path: "/v1/tenants/42/agreements", client: reader, fail: map[string]error{"agreements": tooMany(model.VendorCrayon)}, status: 502, problem: "vendor-error", headers: map[string]string{"Retry-After": "30"}},
		{name: "query", method: "GET", path: "/v1/tenants/x/agreements?q=1", client: reader, status: 400, problem: "invalid-request", errors: []string{"path.id"}},
		{name: "by id", method: "GET", path: "/v1/tenants/42/agreements/" + stubAgreementID, client: reader, status: 200, check: hasMember("id", stubAgreementID)},
		{name: "unknown id", method: "GET", path: "/v1/tenants/42/agreements/0123456789abcdef", client: reader, status: 404, problem: "not-found"},
		{name: "bad ids", method: "GET", path: "/v1/tenants/042/agreements/XYZ?q=1", client: reader, status: 400, problem: "invalid-request",
			errors: []string{"path.id", "path.agreement_id"}, check: notCalled("agreements")},
		{method: "POST", path: "/v1/tenants/42/agreements", client: operator, body: agreement, status: 201,
			headers: map[string]string{"Location": "/v1/tenants/42/agreements/" + addedID}, check: func(t *testing.T, b map[string]any, s *stubs) {
				sourcedOne("email", true)(t, b, s)
				hasMember("id", addedID)(t, b, s)
				if len(s.audits) == 0 || s.audits[len(s.audits)-1].Operation != opAddAgreement {
					t.Error("the write was not audited as " + opAddAgreement)
				}
			}},
		{name: "every mistake", method: "POST", path: "/v1/tenants/42/agreements?x=1", client: operator,
			body:   `{"agreement_type":"other","first_name":" ","last_name":"L","email":"Ada <ada@example.com>","phone_number":"abc","agreed_at":"2999-01-01T00:00:00Z"}`,
			status: 400, problem: "invalid-request",
			errors: []string{"query.x", "body.agreement_type", "body.first_name", "body.email", "body.phone_number", "body.agreed_at"},
			codes:  []string{"unknown", "invalid_choice", "required", "invalid_format", "invalid_format", "out_of_range"},
			check:  notCalled("agreements.add")},
		{name: "unknown member", method: "POST", path: "/v1/tenants/42/agreements", client: operator, body: `{"agreement_typ":"x"}`, status: 400, problem: "invalid-request",
			errors: []string{"body.agreement_typ", "body.agreement_type", "body.first_name", "body.last_name", "body.email", "body.agreed_at"}},
		{name: "missing fields", method: "POST", path: "/v1/tenants/42/agreements", client: operator, body: `{}`, status: 400, problem: "invalid-request",
			errors: []string{"body.agreement_type", "body.first_name", "body.last_name", "body.email", "body.agreed_at"}},
		{name: "wrong types and missing fields in one answer", method: "POST", path: "/v1/tenants/42/agreements", client: operator,
			body: `{"agreement_type":1,"first_name":true,"last_name":"L","email":["a"],"agreed_at":"2026-01-01T00:00:00Z","phone_number":7}`, status: 400, problem: "invalid-request",
			errors: []string{"body.agreement_type", "body.first_name", "body.email", "body.phone_number"},
			codes:  []string{"invalid_type", "invalid_type", "invalid_type", "invalid_type"}, check: notCalled("agreements.add")},
		{name: "trailing data", method: "POST", path: "/v1/tenants/42/agreements", client: operator, body: agreement + `{}`, status: 400, problem: "invalid-request", errors: []string{"body"}},
		{name: "truncated", method: "POST", path: "/v1/tenants/42/agreements", client: operator, body: `{"agreement_type":`, status: 400, problem: "invalid-request", errors: []string{"body"}},
		{name: "array", method: "POST", path: "/v1/tenants/42/agreements", client: operator, body: `[]`, status: 400, problem: "invalid-request", errors: []string{"body"}},
		{name: "too large", method: "POST", path: "/v1/tenants/42/agreements", client: operator, body: `{"first_name":"` + strings.Repeat("a", 70<<10) + `"}`, status: 413, problem: "content-too-large"},
		{name: "reader", method: "POST", path: "/v1/tenants/42/agreements", client: reader, body: agreement, status: 403, problem: "forbidden", check: notCalled("agreements.add")},
		{name: "not JSON", method: "POST", path: "/v1/tenants/42/agreements", client: operator, header: map[string]string{"Content-Type": "text/plain"}, body: agreement, status: 415, problem: "unsupported-media-type"},
		{name: "audit store down", method: "POST", path: "/v1/tenants/42/agreements", client: operator, body: agreement, fail: map[string]error{"audit.append": errStub}, status: 503, problem: "store-unavailable", check: notCalled("agreements.add")},
		{method: "GET", path: "/v1/roles", client: reader, status: 200, check: listed(1, true)},
		{name: "gdap down", method: "GET", path: "/v1/roles", client: reader, fail: map[string]error{"roles": unavailable(model.VendorGDAP)}, status: 503, problem: "vendor-unavailable", headers: map[string]string{"Retry-After": "7"}},
		{name: "query", method: "GET", path: "/v1/roles?x=1", client: reader, status: 400, problem: "invalid-request", errors: []string{"query.x"}},
	})
}

func TestLicenseRoutes(t *testing.T) {
	runTable(t, []routeCase{
		{method: "GET", path: "/v1/licenses?company=acme&user=ADA", client: reader, status: 200, check: listed(1, true)},
		{name: "bad query", method: "GET", path: "/v1/licenses?company=a%01b&x=1", client: reader, status: 400, problem: "invalid-request", errors: []string{"query.x", "query.company"}},
		{method: "POST", path: "/v1/licenses", client: operator, body: `{"company":"acme co","user":"ada"}`, status: 201,
			headers: map[string]string{"Location": "/v1/licenses/5773"}, check: hasMember("id", "5773")},
		{name: "no id from the vendor", method: "POST", path: "/v1/licenses", client: operator, body: `{"company":"acme co","user":"cy"}`, status: 201,
			headers: map[string]string{"Location": "/v1/licenses/acme%20co/cy"}, check: sourcedOne("company", true)},
		{name: "by id", method: "GET", path: "/v1/licenses/5774", client: reader, status: 200, check: func(t *testing.T, b map[string]any, s *stubs) {
			hasMember("id", "5774")(t, b, s)
			hasMember("user", "bob")(t, b, s)
			if src, _ := b["sources"].([]any); len(src) != 2 {
				t.Errorf("sources %v, want the lookup and the check", b["sources"])
			}
		}},
		{name: "unknown id", method: "GET", path: "/v1/licenses/999", client: reader, status: 404, problem: "not-found", check: notCalled("licenses.check")},
		{name: "bad id", method: "GET", path: "/v1/licenses/abc", client: reader, status: 400, problem: "invalid-request", errors: []string{"path.id"},
			codes: []string{"invalid_format"}, check: notCalled("licenses.list")},
		{name: "by id", method: "DELETE", path: "/v1/licenses/5773", client: operator, status: 200, check: func(t *testing.T, b map[string]any, s *stubs) {
			hasMember("id", "5773")(t, b, s)
			hasMember("company", "acme")(t, b, s)
			if len(s.audits) == 0 || s.audits[len(s.audits)-1].Target != "acme/ada" {
				t.Error("the unregistration was not audited under its names")
			}
		}},
		{name: "unknown id", method: "DELETE", path: "/v1/licenses/999", client: operator, status: 404, problem: "not-found", check: notCalled("licenses.unregister")},
		{name: "reader deletes by id", method: "DELETE", path: "/v1/licenses/5773", client: reader, status: 403, problem: "forbidden", check: notCalled("licenses.list")},
		{name: "missing", method: "POST", path: "/v1/licenses?x=1", client: operator, body: `{"company":"","user":""}`, status: 400, problem: "invalid-request",
			errors: []string{"query.x", "body.company", "body.user"}, check: notCalled("licenses.register")},
		{name: "blank and long", method: "POST", path: "/v1/licenses", client: operator, body: `{"company":"  ","user":"` + strings.Repeat("x", 201) + `"}`, status: 400, problem: "invalid-request", errors: []string{"body.company", "body.user"}},
		{name: "wrong type", method: "POST", path: "/v1/licenses", client: operator, body: `{"company":1,"user":2}`, status: 400, problem: "invalid-request", errors: []string{"body.company", "body.user"}, codes: []string{"invalid_type", "invalid_type"}},
		{name: "unknown member", method: "POST", path: "/v1/licenses", client: operator, body: `{"company":"c","user":"","seats":2}`, status: 400, problem: "invalid-request", errors: []string{"body.seats", "body.user"}, codes: []string{"unknown", "required"}},
		{name: "trailing", method: "POST", path: "/v1/licenses", client: operator, body: `{"company":"c","user":"u"} x`, status: 400, problem: "invalid-request", errors: []string{"body"}},
		{name: "xml", method: "POST", path: "/v1/licenses", client: operator, header: map[string]string{"Content-Type": "application/xml"}, body: `{"company":"c","user":"u"}`, status: 415, problem: "unsupported-media-type"},
		{name: "too large", method: "POST", path: "/v1/licenses", client: operator, body: `{"company":"` + strings.Repeat("c", 65<<10) + `"}`, status: 413, problem: "content-too-large"},
		{name: "control chars", method: "GET", path: "/v1/licenses/a%07b/u", client: reader, status: 400, problem: "invalid-request", errors: []string{"path.company"}},
		{name: "long user", method: "DELETE", path: "/v1/licenses/c/" + strings.Repeat("x", 201), client: operator, status: 400, problem: "invalid-request", errors: []string{"path.user"}},
		{name: "long query", method: "GET", path: "/v1/licenses?user=" + strings.Repeat("x", 201), client: reader, status: 400, problem: "invalid-request", errors: []string{"query.user"}},
		{name: "reader deletes", method: "DELETE", path: "/v1/licenses/c/u", client: reader, status: 403, problem: "forbidden", check: notCalled("licenses.unregister")},
		{name: "empty body", method: "POST", path: "/v1/licenses", client: operator, header: map[string]string{"Content-Type": "application/json"}, status: 400, problem: "invalid-request", errors: []string{"body"}},
		{name: "taken", method: "POST", path: "/v1/licenses", client: operator, body: `{"company":"acme","user":"ada"}`,
			fail: map[string]error{"licenses.register": &upstream.Error{Vendor: model.VendorDBSync, Op: "register", Status: 409, Err: upstream.ErrConflict}}, status: 409, problem: "conflict"},
		{name: "already registered", method: "POST", path: "/v1/licenses", client: operator, body: `{"company":"acme","user":"ada"}`,
			fail:   map[string]error{"licenses.register": fmt.Errorf("%w: %w", model.ErrAlreadyRegistered, &upstream.Error{Vendor: model.VendorDBSync, Op: "register", Status: 200, Err: upstream.ErrConflict})},
			status: 409, problem: "already-registered"},
		{name: "quota exhausted", method: "POST", path: "/v1/licenses", client: operator, body: `{"company":"acme","user":"ada"}`,
			fail: map[string]error{"licenses.register": &model.QuotaExhaustedError{Quota: &model.LicenseQuota{AnnualQuota: 25, Used: 25, Active: 20},
				Err: &upstream.Error{Vendor: model.VendorDBSync, Op: "register", Status: 200, Err: upstream.ErrRejected}}},
			status: 422, problem: "license-quota-exhausted", check: hasMember("quota", map[string]any{"annual_quota": 25.0, "used": 25.0, "active": 20.0})},
		{name: "quota exhausted, usage unknown", method: "POST", path: "/v1/licenses", client: operator, body: `{"company":"acme","user":"ada"}`,
			fail:   map[string]error{"licenses.register": &model.QuotaExhaustedError{Err: &upstream.Error{Vendor: model.VendorDBSync, Op: "register", Status: 200, Err: upstream.ErrRejected}}},
			status: 422, problem: "license-quota-exhausted", check: hasMember("quota", nil)},
		{method: "GET", path: "/v1/licenses/acme/ada", client: reader, status: 200, check: sourcedOne("sources", true)},
		{name: "vendor timeout", method: "GET", path: "/v1/licenses/acme/ada", client: reader, fail: map[string]error{"licenses.check": &upstream.Error{Vendor: model.VendorDBSync, Op: "check", Err: errDeadline}}, status: 504, problem: "vendor-timeout"},
		{method: "DELETE", path: "/v1/licenses/acme/ada", client: operator, status: 200, check: sourcedOne("user", true)},
		{name: "unknown", method: "DELETE", path: "/v1/licenses/acme/nobody", client: operator, fail: map[string]error{"licenses.unregister": notFound(model.VendorDBSync)}, status: 404, problem: "not-found"},
		{name: "bad names", method: "DELETE", path: "/v1/licenses/a%01/b?x=1", client: operator, status: 400, problem: "invalid-request", errors: []string{"query.x", "path.company"}},
	})
}

func TestSyncJobRoutes(t *testing.T) {
	kind := syncjobs.Kinds[0]
	runTable(t, []routeCase{
		{method: "POST", path: "/v1/sync-jobs", client: operator, body: `{"kind":"` + kind + `"}`, status: 202,
			headers: map[string]string{"Location": "/v1/sync-jobs/" + testJobID}, check: sourcedOne("id", true)},
		{name: "invalid", method: "POST", path: "/v1/sync-jobs", client: operator, body: `{"kind":"nope"}`, status: 400, problem: "invalid-request", errors: []string{"body.kind"}},
		{name: "type and value mistakes in one answer", method: "POST", path: "/v1/sync-jobs", client: operator, body: `{"kind":"nope","notify_email":5}`, status: 400, problem: "invalid-request",
			errors: []string{"body.notify_email", "body.kind"}, codes: []string{"invalid_type", "invalid_choice"}, check: notCalled("syncs.start")},
		{name: "query", method: "POST", path: "/v1/sync-jobs?x=1", client: operator, body: `{"kind":"` + kind + `"}`, status: 400, problem: "invalid-request", errors: []string{"query.x"}},
		{name: "running", method: "POST", path: "/v1/sync-jobs", client: operator, body: `{"kind":"` + kind + `"}`,
			fail: map[string]error{"syncs.start": &syncjobs.ConflictError{}}, status: 409, problem: "sync-running"},
		{name: "running, blocking job named", method: "POST", path: "/v1/sync-jobs", client: operator, body: `{"kind":"` + kind + `"}`,
			fail: map[string]error{"syncs.start": &syncjobs.ConflictError{Active: testJob(kind)}}, status: 409, problem: "sync-running",
			check: hasMember("blocking_job_id", testJobID)},
		{name: "store down", method: "POST", path: "/v1/sync-jobs", client: operator, body: `{"kind":"` + kind + `"}`,
			fail: map[string]error{"syncs.start": syncjobs.ErrStore}, status: 503, problem: "store-unavailable", headers: map[string]string{"Retry-After": "5"}},
		{method: "GET", path: "/v1/sync-jobs", client: reader, status: 200, check: func(t *testing.T, b map[string]any, s *stubs) {
			listed(1, true)(t, b, s)
			if b["next_page_token"] == nil {
				t.Error("no next_page_token though more jobs match")
			}
		}},
		{name: "bad query", method: "GET", path: "/v1/sync-jobs?kind=x&state=y&page_size=201&page_token=t", client: reader, status: 400, problem: "invalid-request",
			errors: []string{"query.kind", "query.state", "query.page_size", "query.page_token"}},
		{method: "GET", path: "/v1/sync-jobs/" + testJobID, client: reader, status: 200, check: sourcedOne("id", true)},
		{name: "bad id", method: "GET", path: "/v1/sync-jobs/nope?x=1", client: reader, status: 400, problem: "invalid-request", errors: []string{"path.id"}},
		{name: "unknown", method: "GET", path: "/v1/sync-jobs/" + testJobID, client: reader, fail: map[string]error{"syncs.get": syncjobs.ErrNotFound}, status: 404, problem: "not-found"},
	})
}

func TestAuditRoutes(t *testing.T) {
	runTable(t, []routeCase{
		{method: "GET", path: "/v1/audit-events?page_size=1", client: admin, status: 200, check: func(t *testing.T, b map[string]any, _ *stubs) {
			if items, _ := b["items"].([]any); len(items) != 1 || b["next_page_token"] == nil {
				t.Errorf("page: %v", b)
			}
		}},
		{name: "bad query", method: "GET", path: "/v1/audit-events?from=yesterday&operation=x&page_token=t", client: admin, status: 400, problem: "invalid-request",
			errors: []string{"query.from", "query.operation", "query.page_token"}},
		{name: "paging", method: "GET", path: "/v1/audit-events?page_size=0&limit=5", client: admin, status: 400, problem: "invalid-request", errors: []string{"query.limit", "query.page_size"}},
		{name: "to before from", method: "GET", path: "/v1/audit-events?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", client: admin, status: 400, problem: "invalid-request", errors: []string{"query.to"}},
		{name: "store down", method: "GET", path: "/v1/audit-events", client: admin, fail: map[string]error{"audit.list": errStub}, status: 503, problem: "store-unavailable", headers: map[string]string{"Retry-After": "5"}},
	})
}

func TestSubscriptionRoutes(t *testing.T) {
	runTable(t, []routeCase{
		{method: "GET", path: "/v1/subscriptions?status=active,active&tenant_id=42", client: reader, status: 200, check: listed(1, true)},
		{name: "bad query", method: "GET", path: "/v1/subscriptions?customer_id=x&tenant_id=-1&status=gone&page_token=t", client: reader, status: 400, problem: "invalid-request",
			errors: []string{"query.customer_id", "query.tenant_id", "query.status", "query.page_token"}},
		{name: "everything", method: "GET", path: "/v1/subscriptions?status=bogus&customer_id=acme&tenant_id=0&page_size=0&page_token=x&color=red", client: reader, status: 400, problem: "invalid-request",
			errors: []string{"query.color", "query.customer_id", "query.tenant_id", "query.status", "query.page_size", "query.page_token"}, check: notCalled("subscriptions.list")},
		{name: "crayon down", method: "GET", path: "/v1/subscriptions", client: reader, fail: map[string]error{"subscriptions.list": unavailable(model.VendorCrayon)}, status: 503, problem: "vendor-unavailable"},
		{method: "GET", path: "/v1/subscriptions/9", client: reader, status: 200, check: sourcedOne("id", true)},
		{name: "bad id", method: "GET", path: "/v1/subscriptions/x?y=1", client: reader, status: 400, problem: "invalid-request", errors: []string{"path.id"}},
		{name: "unknown", method: "GET", path: "/v1/subscriptions/8", client: reader, fail: map[string]error{"subscriptions.get": notFound(model.VendorCrayon)}, status: 404, problem: "not-found"},
	})
}

func TestGDAPRoutes(t *testing.T) {
	role := "62e90394-69f5-4237-9190-012177145e10"
	runTable(t, []routeCase{
		{method: "POST", path: "/v1/gdap/templates", client: admin, body: `{"name":"Ops","role_ids":["` + role + `"],"duration":"P730D"}`, status: 201, check: sourcedOne("template_id", true)},
		{name: "invalid", method: "POST", path: "/v1/gdap/templates?x=1", client: admin, body: `{"name":"","role_ids":[],"duration":"P9Y"}`, status: 400, problem: "invalid-request",
			errors: []string{"query.x", "body.role_ids", "body.name", "body.duration"}, check: notCalled("gdap.publish")},
		{name: "unknown role", method: "POST", path: "/v1/gdap/templates", client: admin, body: `{"name":"Ops","role_ids":["` + testJobID + `"],"duration":"P730D"}`, status: 400, problem: "invalid-request",
			errors: []string{"body.role_ids"}, check: notCalled("gdap.publish")},
		{method: "POST", path: "/v1/gdap/templates/" + testJobID + "/security-groups", client: admin, body: `{"owner_id":"` + testTenantID + `"}`, status: 201, check: sourcedOne("security_groups", true)},
		{name: "invalid", method: "POST", path: "/v1/gdap/templates/" + testJobID + "/security-groups?q=1", client: admin, body: `{"owner_id":"me"}`, status: 400, problem: "invalid-request",
			errors: []string{"query.q", "body.owner_id"}, check: notCalled("gdap.groups")},
		{name: "gdap down", method: "POST", path: "/v1/gdap/templates/" + testJobID + "/security-groups", client: admin, body: `{"owner_id":"` + testTenantID + `"}`,
			fail: map[string]error{"gdap.groups": unavailable(model.VendorGDAP)}, status: 503, problem: "vendor-unavailable", headers: map[string]string{"Retry-After": "7"}},
		{method: "POST", path: "/v1/gdap/onboardings", client: admin, body: `{"customer_tenant_id":"` + testTenantID + `","mode":"template"}`, status: 202,
			headers: map[string]string{"Location": "/v1/gdap/onboardings/" + testJobID}, check: sourcedOne("steps", true)},
		{name: "invalid", method: "POST", path: "/v1/gdap/onboardings", client: admin, body: `{"mode":"x"}`, status: 400, problem: "invalid-request", errors: []string{"body.customer_tenant_id"}},
		{name: "type and value mistakes in one answer", method: "POST", path: "/v1/gdap/onboardings", client: admin, body: `{"mode":1,"role_ids":"x"}`, status: 400, problem: "invalid-request",
			errors: []string{"body.mode", "body.role_ids", "body.customer_tenant_id"}, codes: []string{"invalid_type", "invalid_type", "required"}, check: notCalled("onboard.start")},
		{name: "running", method: "POST", path: "/v1/gdap/onboardings", client: admin, body: `{"customer_tenant_id":"` + testTenantID + `"}`,
			fail: map[string]error{"onboard.start": &syncjobs.ConflictError{}}, status: 409, problem: "onboarding-running"},
		{name: "running, blocking job named", method: "POST", path: "/v1/gdap/onboardings", client: admin, body: `{"customer_tenant_id":"` + testTenantID + `"}`,
			fail: map[string]error{"onboard.start": &syncjobs.ConflictError{Active: testJob(model.SyncKindGDAPOnboarding)}}, status: 409, problem: "onboarding-running",
			check: hasMember("blocking_job_id", testJobID)},
		{method: "GET", path: "/v1/gdap/onboardings/" + testJobID, client: admin, status: 200, check: sourcedOne("state", true)},
		{name: "bad id", method: "GET", path: "/v1/gdap/onboardings/x", client: admin, status: 400, problem: "invalid-request", errors: []string{"path.id"}},
		{name: "unknown", method: "GET", path: "/v1/gdap/onboardings/" + testJobID, client: admin, fail: map[string]error{"onboard.get": syncjobs.ErrNotFound}, status: 404, problem: "not-found"},
	})
}

// A page token is good only for the list, filters and page size it was
// issued for; a forged one is refused too.
func TestPageTokensAreBoundToTheirList(t *testing.T) {
	ts := newTestServer(t)
	for _, c := range []struct{ first, other string }{
		{"/v1/customers?page_size=1", "/v1/customers?page_size=1&q=contoso"},
		{"/v1/tenants?page_size=1", "/v1/tenants?page_size=2"},
		{"/v1/tenants?page_size=1", "/v1/tenants?page_size=1&q=x"},
		{"/v1/subscriptions?page_size=1", "/v1/subscriptions?page_size=1&status=active"},
		{"/v1/sync-jobs?page_size=1", "/v1/sync-jobs?page_size=2"},
		{"/v1/audit-events?page_size=1", "/v1/audit-events?page_size=1&subject=x"},
		{"/v1/audit-events?page_size=1", "/v1/customers?page_size=1"},
	} {
		status, first := ts.get(t, c.first)
		tok, _ := first["next_page_token"].(string)
		if status != 200 || tok == "" {
			t.Fatalf("%s: %d, no next_page_token: %v", c.first, status, first)
		}
		if status, _ := ts.get(t, c.first+"&page_token="+url.QueryEscape(tok)); status != 200 {
			t.Errorf("%s: its own token: %d", c.first, status)
		}
		forged := []byte(tok)
		forged[len(forged)-2] ^= 1
		for _, path := range []string{c.other + "&page_token=" + url.QueryEscape(tok), c.first + "&page_token=" + url.QueryEscape(string(forged))} {
			status, p := ts.get(t, path)
			errs, _ := p["errors"].([]any)
			if status != 400 || len(errs) != 1 || errs[0].(map[string]any)["location"] != "query.page_token" {
				t.Errorf("%s: %d %v", path, status, p)
			}
		}
	}
}

// member checks one member of the answer; want nil: absent.
func hasMember(name string, want any) func(*testing.T, map[string]any, *stubs) {
	return func(t *testing.T, b map[string]any, _ *stubs) {
		t.Helper()
		got, ok := b[name]
		if want == nil && ok {
			t.Errorf("%s = %v, want it absent", name, got)
		}
		if want != nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
}
