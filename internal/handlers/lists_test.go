package handlers

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/problem"
)

// List conventions every list shares: total_size, previous_page_token,
// order_by, comma-separated filters and empty values refused.

// totalSize checks total_size (absent when want < 0).
func totalSize(want int) func(*testing.T, map[string]any, *stubs) {
	return func(t *testing.T, b map[string]any, _ *stubs) {
		t.Helper()
		got, ok := b["total_size"].(float64)
		if want < 0 && ok || want >= 0 && (!ok || int(got) != want) {
			t.Errorf("total_size %v, want %d", b["total_size"], want)
		}
	}
}

// firstName checks the first item's name.
func firstName(want string) func(*testing.T, map[string]any, *stubs) {
	return func(t *testing.T, b map[string]any, _ *stubs) {
		t.Helper()
		items, _ := b["items"].([]any)
		if len(items) == 0 || items[0].(map[string]any)["name"] != want {
			t.Errorf("first item %v, want %s", items, want)
		}
	}
}

// codes checks the field errors' codes, in order.
func codes(want ...string) func(*testing.T, map[string]any, *stubs) {
	return func(t *testing.T, b map[string]any, _ *stubs) {
		t.Helper()
		var got []string
		errs, _ := b["errors"].([]any)
		for _, e := range errs {
			got = append(got, e.(map[string]any)["code"].(string))
		}
		if !slices.Equal(got, want) {
			t.Errorf("codes %v, want %v", got, want)
		}
	}
}

func all(checks ...func(*testing.T, map[string]any, *stubs)) func(*testing.T, map[string]any, *stubs) {
	return func(t *testing.T, b map[string]any, s *stubs) {
		t.Helper()
		for _, c := range checks {
			c(t, b, s)
		}
	}
}

func TestListConventions(t *testing.T) {
	runTable(t, []routeCase{
		// Customers (merged per request without snapshots).
		{name: "total", method: "GET", path: "/v1/customers?page_size=1", client: reader, status: 200,
			check: all(listed(1, true), totalSize(2), firstName("Contoso"), func(t *testing.T, b map[string]any, _ *stubs) {
				if b["previous_page_token"] != nil || b["next_page_token"] == nil {
					t.Errorf("first page of two: %v", b)
				}
			})},
		{name: "name desc", method: "GET", path: "/v1/customers?order_by=name%20desc", client: reader, status: 200, check: all(listed(2, true), firstName("Fabrikam"))},
		{name: "by date", method: "GET", path: "/v1/customers?order_by=updated_at%20desc,name", client: reader, status: 200, check: all(listed(2, true), firstName("Contoso"))},
		{name: "tie-break restated", method: "GET", path: "/v1/customers?order_by=name%20desc,%20id", client: reader, status: 200, check: firstName("Fabrikam")},
		{name: "vendor set", method: "GET", path: "/v1/customers?vendor=gdap,crayon,gdap", client: reader, status: 200, check: all(totalSize(2), func(t *testing.T, b map[string]any, _ *stubs) {
			// Every vendor shapes the merged customers, so all are reported.
			if srcs, _ := b["sources"].([]any); len(srcs) != 3 {
				t.Errorf("sources %v, want all three vendors", srcs)
			}
		})},
		{name: "bad order", method: "GET", path: "/v1/customers?order_by=email&vendor=gdap,sap", client: reader, status: 400, problem: "invalid-request",
			errors: []string{"query.vendor", "query.order_by"}, check: codes(problem.CodeInvalidChoice, problem.CodeInvalidChoice)},
		{name: "other tie-break", method: "GET", path: "/v1/customers?order_by=name,id%20desc", client: reader, status: 400, problem: "invalid-request", errors: []string{"query.order_by"}},
		{name: "empty values", method: "GET", path: "/v1/customers?vendor=&q=&page_token=", client: reader, status: 400, problem: "invalid-request",
			errors: []string{"query.q", "query.vendor"}, check: all(codes(problem.CodeEmpty, problem.CodeEmpty), notCalled("customers.gdap"))},

		// Tenants (Crayon pages without snapshots: Crayon's total, id order only).
		{name: "crayon total", method: "GET", path: "/v1/tenants?organization_id=1234567890&publisher_id=2", client: reader, status: 200, check: all(listed(1, true), totalSize(3))},
		{name: "ids are digit strings", method: "GET", path: "/v1/tenants?organization_id=01&publisher_id=%2B2", client: reader, status: 400, problem: "invalid-request",
			errors: []string{"query.organization_id", "query.publisher_id"}, check: codes(problem.CodeInvalidFormat, problem.CodeInvalidFormat)},
		{name: "order needs snapshots", method: "GET", path: "/v1/tenants?order_by=name", client: reader, status: 400, problem: "invalid-request", errors: []string{"query.order_by"}, check: notCalled("tenants.list")},
		{name: "id order", method: "GET", path: "/v1/tenants?order_by=id", client: reader, status: 200},
		{name: "empty", method: "GET", path: "/v1/tenants?tenant_type=&domain_prefix=", client: reader, status: 400, problem: "invalid-request",
			errors: []string{"query.domain_prefix", "query.tenant_type"}, check: codes(problem.CodeEmpty, problem.CodeEmpty)},

		// Licences page.
		{name: "licence page", method: "GET", path: "/v1/licenses?page_size=1", client: reader, status: 200, check: all(listed(1, true), totalSize(2), func(t *testing.T, b map[string]any, _ *stubs) {
			if b["next_page_token"] == nil || b["previous_page_token"] != nil {
				t.Errorf("first of two licence pages: %v", b)
			}
		})},
		{name: "licence empty", method: "GET", path: "/v1/licenses?company=&page_size=0", client: reader, status: 400, problem: "invalid-request",
			errors: []string{"query.company", "query.page_size"}, check: codes(problem.CodeEmpty, problem.CodeOutOfRange)},

		// Subscriptions: Crayon's total for one listing.
		{name: "subscription total", method: "GET", path: "/v1/subscriptions", client: reader, status: 200, check: totalSize(5)},
		{name: "subscription empty", method: "GET", path: "/v1/subscriptions?status=", client: reader, status: 400, problem: "invalid-request", errors: []string{"query.status"}, check: codes(problem.CodeEmpty)},

		// Sync jobs.
		{name: "sync total and sets", method: "GET", path: "/v1/sync-jobs?kind=" + model.SyncKindGDAPOnboarding + "," + model.SyncKindGDAPCustomers + "&state=running,pending", client: reader, status: 200,
			check: all(totalSize(4), func(t *testing.T, _ map[string]any, s *stubs) {
				f := s.syncFilter
				if !slices.Equal(f.Kinds, []string{model.SyncKindGDAPCustomers, model.SyncKindGDAPOnboarding}) || !slices.Equal(f.States, []string{"pending", "running"}) || f.Oldest {
					t.Errorf("filter %+v", f)
				}
			})},
		{name: "a customer's jobs", method: "GET", path: "/v1/sync-jobs?customer_id=ms-" + strings.ToUpper(testTenantID) + "&order_by=created_at", client: reader, status: 200,
			check: func(t *testing.T, _ map[string]any, s *stubs) {
				if f := s.syncFilter; !slices.Equal(f.CompanyIDs, []string{testTenantID}) || !f.Oldest {
					t.Errorf("filter %+v, want the customer's tenant, oldest first", f)
				}
			}},
		{name: "a booking person has none", method: "GET", path: "/v1/sync-jobs?customer_id=bokamera-" + testJobID, client: reader, status: 200,
			check: all(listed(0, true), totalSize(0), notCalled("syncs.list"))},
		{name: "sync bad", method: "GET", path: "/v1/sync-jobs?customer_id=acme&order_by=updated_at&kind=", client: reader, status: 400, problem: "invalid-request",
			errors: []string{"query.kind", "query.order_by", "query.customer_id"}, check: codes(problem.CodeEmpty, problem.CodeInvalidChoice, problem.CodeInvalidFormat)},

		// Lists answered whole count their items.
		{name: "roles total", method: "GET", path: "/v1/roles", client: reader, status: 200, check: totalSize(1)},
		{name: "agreements total", method: "GET", path: "/v1/tenants/42/agreements", client: reader, status: 200, check: totalSize(1)},

		// Audit events.
		{name: "audit newest first", method: "GET", path: "/v1/audit-events?order_by=time%20desc&operation=" + opRegisterLicense + "," + opAddAgreement, client: admin, status: 200,
			check: all(totalSize(2), func(t *testing.T, _ map[string]any, s *stubs) {
				if f := s.auditFilter; !f.Newest || !slices.Equal(f.Operations, []string{opAddAgreement, opRegisterLicense}) {
					t.Errorf("filter %+v", f)
				}
			})},
		{name: "audit empty", method: "GET", path: "/v1/audit-events?subject=&from=", client: admin, status: 400, problem: "invalid-request",
			errors: []string{"query.from", "query.subject"}, check: codes(problem.CodeEmpty, problem.CodeEmpty)},
	})
}

// Following next_page_token gives a page whose previous_page_token leads
// back; a refused token says why it may have died.
func TestPreviousPagesAndTokenHints(t *testing.T) {
	ts := newTestServer(t)
	for _, first := range []string{"/v1/customers?page_size=1", "/v1/licenses?page_size=1"} {
		_, p1 := ts.get(t, first)
		status, p2 := ts.get(t, first+"&page_token="+url.QueryEscape(p1["next_page_token"].(string)))
		prev, _ := p2["previous_page_token"].(string)
		if status != 200 || prev == "" || p2["next_page_token"] != nil || p2["total_size"] != p1["total_size"] {
			t.Fatalf("%s, page 2: %d %v", first, status, p2)
		}
		_, back := ts.get(t, first+"&page_token="+url.QueryEscape(prev))
		if back["items"].([]any)[0].(map[string]any)["user"] != p1["items"].([]any)[0].(map[string]any)["user"] ||
			back["items"].([]any)[0].(map[string]any)["name"] != p1["items"].([]any)[0].(map[string]any)["name"] {
			t.Errorf("%s: previous page %v, want %v", first, back["items"], p1["items"])
		}
	}
	status, p := ts.get(t, "/v1/customers?page_token=forged")
	errs, _ := p["errors"].([]any)
	if status != 400 || len(errs) != 1 || !strings.Contains(errs[0].(map[string]any)["message"].(string), "GATEWAY_PAGE_TOKEN_KEY") {
		t.Errorf("a token refused by a gateway without a key: %d %v", status, p)
	}
}
