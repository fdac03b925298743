package main

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/partnerhub/gateway/internal/upstream/bokamera/bokamerasim"
	"github.com/partnerhub/gateway/internal/upstream/crayon/crayonsim"
)

// allCustomers follows next_page_token through GET /v1/customers and
// returns the ids, failing on an incomplete page.
func allCustomers(t *testing.T, c *client, query string) []string {
	t.Helper()
	var ids []string
	path := "/v1/customers?page_size=200" + query
	for pages := 0; path != ""; pages++ {
		if pages > 20 {
			t.Fatal("customer paging does not end")
		}
		r := c.do("GET", path, "")
		if r.Status != 200 {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		var l customerList
		r.JSON(t, &l)
		if !l.Complete {
			t.Fatalf("answer not complete: %+v", l.Sources)
		}
		for _, it := range l.Items {
			ids = append(ids, it.ID)
		}
		path = ""
		if l.NextPageToken != "" {
			path = "/v1/customers?page_size=200" + query + "&page_token=" + url.QueryEscape(l.NextPageToken)
		}
	}
	slices.Sort(ids)
	return ids
}

func startGatewayWith(t *testing.T, o simOptions) (*vendorSims, *client) {
	t.Helper()
	sims := newVendorSimsWith(t, o)
	gw := startRun(t, nil, sims.Env())
	return sims, newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-reader"))
}

// A vendor that serves fewer records per page than asked (Crayon capping
// PageSize, BokaMera capping Take) still yields every record: the same
// customers as an uncapped vendor, complete.
func TestCappedVendorsStillYieldEveryCustomer(t *testing.T) {
	_, plain := startGatewayWith(t, simOptions{})
	_, capped := startGatewayWith(t, simOptions{
		Crayon:   crayonsim.Options{PageSizeCap: 3},
		BokaMera: bokamerasim.Options{MaxTake: 3},
	})
	for _, vendor := range []string{"crayon", "bokamera"} {
		want := allCustomers(t, plain, "&vendor="+vendor)
		got := allCustomers(t, capped, "&vendor="+vendor)
		if len(want) <= 3 || !slices.Equal(got, want) { // more than one capped page
			t.Errorf("%s: capped vendor gave %d customers, uncapped %d", vendor, len(got), len(want))
		}
	}
	// The 360 view of a customer on one of Crayon's last pages.
	last := fmt.Sprintf("ms-00000000-0000-4000-8000-%012d", crayonsim.SeedTenantCount-20)
	r := capped.do("GET", "/v1/customers/"+last, "")
	if r.Status != 200 {
		t.Fatalf("360 view of %s: status %d: %s", last, r.Status, r.Body)
	}
	var v struct {
		Tenants struct {
			Status string `json:"status"`
			Items  []struct {
				ID string `json:"id"`
			} `json:"items"`
		} `json:"tenants"`
	}
	r.JSON(t, &v)
	if v.Tenants.Status != "ok" || len(v.Tenants.Items) != 1 {
		t.Fatalf("360 view tenants section: %s", r.Body)
	}
}

// GET /v1/tenants over a Crayon capping PageSize at 3 (TotalHits 9 for the
// filter) hands out page tokens until every tenant was listed once, however
// the server places its capped pages.
func TestTenantPagesWalkACappedCrayonToTheEnd(t *testing.T) {
	for _, afterOffset := range []bool{false, true} {
		t.Run(fmt.Sprint("cap after offset ", afterOffset), func(t *testing.T) {
			_, c := startGatewayWith(t, simOptions{Crayon: crayonsim.Options{PageSizeCap: 3, CapAfterOffset: afterOffset}})
			q := "q=" + url.QueryEscape("Example Customer 00") + "&page_size=50"
			seen := map[string]bool{}
			path := "/v1/tenants?" + q
			for pages := 0; path != ""; pages++ {
				if pages > 10 {
					t.Fatal("tenant paging does not end")
				}
				r := c.do("GET", path, "")
				if r.Status != 200 {
					t.Fatalf("status %d: %s", r.Status, r.Body)
				}
				var p tenantPage
				r.JSON(t, &p)
				for _, it := range p.Items {
					if seen[it.ID] {
						t.Fatalf("tenant %s listed twice", it.ID)
					}
					seen[it.ID] = true
				}
				path = ""
				if p.NextPageToken != "" {
					path = "/v1/tenants?" + q + "&page_token=" + url.QueryEscape(p.NextPageToken)
				}
			}
			if len(seen) != 9 {
				t.Fatalf("listed %d tenants, want the 9 Example Customer 00x", len(seen))
			}
		})
	}
}

// A Crayon whose TotalHits promises more than its pages hold is reported:
// the Crayon source is error with the reason, and the answer is not
// complete.
func TestInconsistentCrayonWalkIsReportedNotHidden(t *testing.T) {
	_, c := startGatewayWith(t, simOptions{Crayon: crayonsim.Options{PageSizeCap: 50, TotalHitsSkew: 2}})
	r := c.do("GET", "/v1/customers?page_size=200", "")
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	var l customerList
	r.JSON(t, &l)
	status, _ := l.source("crayon")
	var detail string
	for _, s := range l.Sources {
		if s.Vendor == "crayon" {
			detail = s.Detail
		}
	}
	if l.Complete || status != "error" || !strings.Contains(detail, "ran dry") {
		t.Fatalf("complete %v, crayon %q %q; want an incomplete answer naming the short walk", l.Complete, status, detail)
	}
}
