package main

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/partnerhub/gateway/internal/upstream/simfault"
)

// With snapshots on, lists come from memory: a vendor failing after the
// snapshot was built changes nothing until the next build, a
// Cache-Control: no-cache read rebuilds at once and reports the failing
// vendor's kept part as stale, and a page token keeps walking the
// generation it was issued for.
func TestSnapshotListsServeFromMemoryAndRefreshOnNoCache(t *testing.T) {
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env("GATEWAY_SNAPSHOT_INTERVAL", "1h", "GATEWAY_RATE_LIMIT", "0"))
	token := fetchToken(t, sims.Issuer.URL(), "dev-reader")

	first := specDo(t, gw.URL, "GET", "/v1/customers?page_size=5", token)
	var page1 customerList
	first.JSON(t, &page1)
	if first.Status != 200 || !page1.Complete || len(page1.Items) != 5 || page1.NextPageToken == "" {
		t.Fatalf("first page: %d %s", first.Status, first.Body)
	}
	if !strings.Contains(string(first.Body), `"age_ms":`) {
		t.Errorf("sources do not say how old each part is: %s", first.Body)
	}

	sims.GDAP.Faults.Set(simfault.Fault{Status: 503})
	calls := sims.GDAP.Faults.TotalCalls()
	again := specDo(t, gw.URL, "GET", "/v1/customers?page_size=5", token)
	var cached customerList
	again.JSON(t, &cached)
	if again.Status != 200 || !cached.Complete || sims.GDAP.Faults.TotalCalls() != calls {
		t.Fatalf("snapshot read called GDAP or changed: %s", again.Body)
	}

	fresh := specDo(t, gw.URL, "GET", "/v1/customers?page_size=5", token, "Cache-Control", "no-cache")
	if fresh.Status != 200 || sims.GDAP.Faults.TotalCalls() == calls {
		t.Fatalf("no-cache read did not ask the vendors: %d %s", fresh.Status, fresh.Body)
	}
	// Its data is kept, but the outage shows: the real status, stale, and
	// an incomplete answer.
	if !strings.Contains(string(fresh.Body), `"vendor":"gdap","status":"error","duration_ms"`) ||
		!strings.Contains(string(fresh.Body), `"stale":true`) || !strings.Contains(string(fresh.Body), `"complete":false`) {
		t.Errorf("failing GDAP's kept part is not reported stale with its real status: %s", fresh.Body)
	}

	// The first page's token still walks its own generation.
	next := specDo(t, gw.URL, "GET", "/v1/customers?page_size=5&page_token="+url.QueryEscape(page1.NextPageToken), token)
	var page2 customerList
	next.JSON(t, &page2)
	if next.Status != 200 || len(page2.Items) != 5 || page2.Items[0].ID == page1.Items[0].ID {
		t.Fatalf("second page: %d %s", next.Status, next.Body)
	}

	// One tenant and the 360 view are looked up in the snapshot.
	sims.Crayon.Faults.Set(simfault.Fault{Status: 500})
	tenant := specDo(t, gw.URL, "GET", "/v1/tenants/1001", token)
	if tenant.Status != 200 || !strings.Contains(string(tenant.Body), `"id":"1001"`) {
		t.Fatalf("tenant from snapshot: %d %s", tenant.Status, tenant.Body)
	}
	view := specDo(t, gw.URL, "GET", "/v1/customers/"+page1.Items[0].ID, token)
	if view.Status != 200 {
		t.Fatalf("360 view: %d %s", view.Status, view.Body)
	}
	tenants := specDo(t, gw.URL, "GET", "/v1/tenants?page_size=3", token)
	if tenants.Status != 200 || !strings.Contains(string(tenants.Body), `"next_page_token"`) {
		t.Fatalf("tenant list from snapshot: %d %s", tenants.Status, tenants.Body)
	}
}

// Tenant and customer pages cut from the snapshot hold exactly what the
// per-request path (Crayon's own filters, a merge per request) gives, for
// every filter.
func TestSnapshotListsMatchThePerRequestPath(t *testing.T) {
	sims := newVendorSims(t)
	snap := startRun(t, nil, sims.Env("GATEWAY_SNAPSHOT_INTERVAL", "1h", "GATEWAY_RATE_LIMIT", "0"))
	live := startRun(t, nil, sims.Env("GATEWAY_RATE_LIMIT", "0", "GATEWAY_CACHE_TTL", "0"))
	token := fetchToken(t, sims.Issuer.URL(), "dev-reader")

	walk := func(base, path string) []string {
		var out []string
		for next := ""; ; {
			p := path
			if next != "" {
				p += "&page_token=" + url.QueryEscape(next)
			}
			r := specDo(t, base, "GET", p, token)
			if r.Status != 200 {
				t.Fatalf("%s%s: %d %s", base, p, r.Status, r.Body)
			}
			var page struct {
				Items         []json.RawMessage `json:"items"`
				NextPageToken string            `json:"next_page_token"`
			}
			r.JSON(t, &page)
			for _, it := range page.Items {
				out = append(out, string(it))
			}
			if next = page.NextPageToken; next == "" {
				return out
			}
		}
	}
	for _, path := range []string{
		"/v1/tenants?page_size=7",
		"/v1/tenants?page_size=50&tenant_type=t1",
		"/v1/tenants?page_size=50&domain_prefix=CONTOSO",
		"/v1/tenants?page_size=9&q=customer%2001",
		"/v1/tenants?page_size=50&publisher_id=2&organization_id=4703",
		"/v1/tenants?page_size=50&publisher_id=3",
		"/v1/customers?page_size=7",
		"/v1/customers?page_size=5&q=AB",
		"/v1/customers?page_size=50&q=onmicrosoft",
	} {
		got, want := walk(snap.URL, path), walk(live.URL, path)
		if !slices.Equal(got, want) {
			t.Errorf("%s: snapshot gave %d items, per request %d\nsnapshot: %v\nper request: %v", path, len(got), len(want), got, want)
		}
	}
}
