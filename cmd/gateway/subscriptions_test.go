package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/partnerhub/gateway/internal/upstream/simfault"
)

type subscriptionBody struct {
	ID           string `json:"id"`
	CustomerID   string `json:"customer_id"`
	TenantID     string `json:"tenant_id"`
	ProductName  string `json:"product_name"`
	PartNumber   string `json:"part_number"`
	Quantity     int    `json:"quantity"`
	Status       string `json:"status"`
	BillingCycle string `json:"billing_cycle"`
	AutoRenew    *bool  `json:"auto_renew"`
	IsTrial      bool   `json:"is_trial"`
}

type subscriptionPage struct {
	Items         []subscriptionBody `json:"items"`
	NextPageToken string             `json:"next_page_token"`
	sourced
}

// walkSubscriptions follows next_page_token from query to the end.
func walkSubscriptions(t *testing.T, c *client, query string) ([]subscriptionBody, []subscriptionPage) {
	t.Helper()
	var (
		all   []subscriptionBody
		pages []subscriptionPage
	)
	path := "/v1/subscriptions?" + query
	for range 100 {
		r := c.do("GET", path, "")
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
		}
		var p subscriptionPage
		r.JSON(t, &p)
		all, pages = append(all, p.Items...), append(pages, p)
		if p.NextPageToken == "" {
			return all, pages
		}
		path = "/v1/subscriptions?" + query + "&page_token=" + url.QueryEscape(p.NextPageToken)
	}
	t.Fatal("paging did not end")
	return nil, nil
}

func TestListSubscriptionsPagesThroughEverything(t *testing.T) {
	sims, c := startTenantGateway(t)
	contoso, northwind := orgByName(t, "Contoso AB"), orgByName(t, "Northwind Traders AS")
	// Crayon answers at most 20 a page whatever is asked: the walk must
	// still see each subscription exactly once.
	sims.Crayon.CapSubscriptionPages(20)
	all, pages := walkSubscriptions(t, c, "page_size=50")
	ids := map[string]bool{}
	for _, s := range all {
		ids[s.ID] = true
	}
	if len(all) != sims.Crayon.SubscriptionCount() || len(ids) != len(all) {
		t.Fatalf("walked %d (%d distinct) of %d subscriptions", len(all), len(ids), sims.Crayon.SubscriptionCount())
	}
	for _, p := range pages {
		if !p.Complete || p.status("crayon") != "ok" || p.status("gdap") != "ok" {
			t.Fatalf("page not complete with every simulator healthy: %+v", p.sourced)
		}
	}
	byTenant := map[string]string{}
	for _, s := range all {
		byTenant[s.TenantID] = s.CustomerID
		if s.ProductName == "" || s.PartNumber == "" || s.Status == "" || s.BillingCycle == "" {
			t.Errorf("subscription %+v misses fields", s)
		}
	}
	// Contoso's tenant carries its Microsoft tenant id; Northwind's only its
	// domain, which joins it to GDAP's record.
	if byTenant["1001"] != "ms-"+contoso.TenantID || byTenant["1003"] != "ms-"+northwind.TenantID {
		t.Errorf("customer ids: 1001 -> %q, 1003 -> %q", byTenant["1001"], byTenant["1003"])
	}
}

func TestListSubscriptionsFilters(t *testing.T) {
	_, c := startTenantGateway(t)
	contoso := orgByName(t, "Contoso AB")
	mine, _ := walkSubscriptions(t, c, "customer_id=ms-"+contoso.TenantID)
	if len(mine) == 0 {
		t.Fatal("no subscriptions for Contoso")
	}
	for _, s := range mine {
		if s.TenantID != "1001" || s.CustomerID != "ms-"+contoso.TenantID {
			t.Errorf("customer filter let through %+v", s)
		}
	}
	active, _ := walkSubscriptions(t, c, "status=suspended,expired&page_size=7")
	if len(active) == 0 {
		t.Fatal("no suspended or expired subscriptions")
	}
	for _, s := range active {
		if s.Status != "suspended" && s.Status != "expired" {
			t.Errorf("status filter let through %+v", s)
		}
	}
	tenant, _ := walkSubscriptions(t, c, "tenant_id=1004&q=premium")
	if len(tenant) == 0 {
		t.Fatal("no Premium subscription of tenant 1004")
	}
	for _, s := range tenant {
		if s.TenantID != "1004" || !strings.Contains(s.ProductName, "Premium") {
			t.Errorf("tenant/q filter let through %+v", s)
		}
	}
	// A customer outside Crayon has no subscriptions.
	none, _ := walkSubscriptions(t, c, "customer_id=ms-"+orgByName(t, "Woodgrove Bank").TenantID)
	if len(none) != 0 {
		t.Errorf("Woodgrove (GDAP only) has subscriptions %+v", none)
	}
}

func TestGetSubscription(t *testing.T) {
	_, c := startTenantGateway(t)
	var page subscriptionPage
	c.do("GET", "/v1/subscriptions?tenant_id=1001&page_size=1", "").JSON(t, &page)
	if len(page.Items) != 1 {
		t.Fatalf("no subscription of tenant 1001: %+v", page)
	}
	var one struct {
		subscriptionBody
		sourced
	}
	r := c.do("GET", "/v1/subscriptions/"+page.Items[0].ID, "")
	r.JSON(t, &one)
	if r.Status != http.StatusOK || one.ID != page.Items[0].ID || one.CustomerID != page.Items[0].CustomerID || !one.Complete {
		t.Fatalf("GET one: %d %s", r.Status, r.Body)
	}
	expectProblem(t, c.do("GET", "/v1/subscriptions/999999", ""), http.StatusNotFound)
	p := expectProblem(t, c.do("GET", "/v1/subscriptions/abc", ""), http.StatusBadRequest)
	if len(p.Errors) != 1 || p.Errors[0].Location != "path.id" {
		t.Errorf("errors %+v, want path.id", p.Errors)
	}
}

func TestListSubscriptionsWithGDAPDown(t *testing.T) {
	sims, c := startTenantGateway(t, "GATEWAY_CACHE_TTL", "0")
	sims.GDAP.Faults.Set(simfault.Fault{Status: 500})
	contoso := orgByName(t, "Contoso AB")
	var page subscriptionPage
	r := c.do("GET", "/v1/subscriptions?page_size=200", "")
	r.JSON(t, &page)
	if r.Status != http.StatusOK || page.Complete || page.status("gdap") != "error" || page.status("crayon") != "ok" {
		t.Fatalf("want 200 incomplete with gdap error: %d %s", r.Status, r.Body)
	}
	for _, s := range page.Items {
		switch s.TenantID {
		case "1001":
			if s.CustomerID != "ms-"+contoso.TenantID {
				t.Errorf("Contoso's customer id is known from Crayon alone, got %q", s.CustomerID)
			}
		case "1003":
			if s.CustomerID != "" {
				t.Errorf("Northwind's customer id needs GDAP's domain join; got %q instead of none", s.CustomerID)
			}
		}
	}
	// Crayon down: nothing to list.
	sims.Crayon.Faults.Set(simfault.Fault{Status: 500})
	expectProblem(t, c.do("GET", "/v1/subscriptions", ""), http.StatusBadGateway)
}

type subscriptionSection struct {
	Vendor string             `json:"vendor"`
	Status string             `json:"status"`
	Detail string             `json:"detail"`
	Items  []subscriptionBody `json:"items"`
	Totals []struct {
		ProductName    string `json:"product_name"`
		PartNumber     string `json:"part_number"`
		Subscriptions  int    `json:"subscriptions"`
		Quantity       int    `json:"quantity"`
		ActiveQuantity int    `json:"active_quantity"`
	} `json:"totals"`
}

func getSubscriptionSection(t *testing.T, c *client, id string) (subscriptionSection, bool) {
	t.Helper()
	r := c.do("GET", "/v1/customers/"+id, "")
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", id, r.Status, r.Body)
	}
	var v struct {
		Subscriptions subscriptionSection `json:"subscriptions"`
		Complete      bool                `json:"complete"`
	}
	r.JSON(t, &v)
	return v.Subscriptions, v.Complete
}

func TestCustomerViewShowsSubscriptionTotals(t *testing.T) {
	sims, c := startTenantGateway(t, "GATEWAY_CACHE_TTL", "0")
	// Fabrikam (tenant 1002) holds two Business Premium subscriptions.
	fabrikam := orgByName(t, "Fabrikam Oy")
	sec, complete := getSubscriptionSection(t, c, "ms-"+fabrikam.TenantID)
	if sec.Status != "ok" || sec.Vendor != "crayon" || !complete {
		t.Fatalf("section %+v, complete %v", sec, complete)
	}
	list, _ := walkSubscriptions(t, c, "tenant_id=1002")
	if len(sec.Items) != len(list) {
		t.Errorf("view has %d subscriptions, the list %d", len(sec.Items), len(list))
	}
	want := map[string][2]int{} // part number -> subscriptions, active seats
	for _, s := range list {
		w := want[s.PartNumber]
		w[0]++
		if s.Status == "active" {
			w[1] += s.Quantity
		}
		want[s.PartNumber] = w
	}
	if len(sec.Totals) != len(want) {
		t.Fatalf("totals %+v, want one per part number of %v", sec.Totals, want)
	}
	for _, tot := range sec.Totals {
		if w := want[tot.PartNumber]; tot.Subscriptions != w[0] || tot.ActiveQuantity != w[1] {
			t.Errorf("total %+v, want %d subscriptions and %d active seats", tot, w[0], w[1])
		}
		if tot.PartNumber == "CFQ7TTC0LF8R" && tot.Subscriptions != 2 {
			t.Errorf("Fabrikam's two Premium subscriptions are not summed: %+v", tot)
		}
	}

	// A GDAP-only customer has no Crayon tenant.
	sec, complete = getSubscriptionSection(t, c, "ms-"+orgByName(t, "Woodgrove Bank").TenantID)
	if sec.Status != "not_applicable" || len(sec.Items) != 0 || !complete {
		t.Errorf("Woodgrove: %+v complete %v", sec, complete)
	}

	// Only the subscription listing failing blanks only this section.
	sims.Crayon.Faults.Set(simfault.Fault{Status: 500, PathContains: "subscriptions"})
	sec, complete = getSubscriptionSection(t, c, "ms-"+fabrikam.TenantID)
	if sec.Status != "error" || len(sec.Items) != 0 || len(sec.Totals) != 0 || complete {
		t.Errorf("with subscriptions failing: %+v complete %v", sec, complete)
	}
	v := getView(t, c, "ms-"+fabrikam.TenantID)
	for name, s := range v.sections() {
		if s.Status != "ok" {
			t.Errorf("section %s = %s; only subscriptions failed", name, s.Status)
		}
	}
}
