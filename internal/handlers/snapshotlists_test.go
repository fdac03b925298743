package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/aggregate"
	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/pagetoken"
)

// Lists cut from the snapshot: order_by both ways, total_size on every
// page, and previous_page_token leading back to the page before.
func TestSnapshotListsOrderAndPageBack(t *testing.T) {
	snaps := aggregate.NewSnapshots(aggregate.SnapshotConfig{Interval: time.Hour, Sources: aggregate.SnapshotSources{
		GDAP: func(context.Context) ([]model.GDAPCustomer, error) {
			var out []model.GDAPCustomer
			for i := range 5 {
				out = append(out, model.GDAPCustomer{MicrosoftTenantID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), CompanyName: fmt.Sprintf("Org %d", i)})
			}
			return out, nil
		},
		Crayon: func(context.Context) ([]model.Tenant, error) {
			var out []model.Tenant
			for i := range 5 { // ids ascending, names descending
				out = append(out, model.Tenant{ID: fmt.Sprint(100 + i), Name: fmt.Sprintf("Tenant %c", 'E'-i), Domain: fmt.Sprintf("t%d.onmicrosoft.com", i),
					Organization: &model.Ref{ID: "4703"}, Type: model.TenantTypeT2, Status: model.TenantStatusActive})
			}
			return out, nil
		},
		BokaMera: func(context.Context) ([]model.BookingCustomer, error) { return nil, nil },
	}})
	runCtx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	go snaps.Run(runCtx)
	tokens := pagetoken.New([]byte("a key shared by every replica"))
	customers := handleListCustomers(aggregate.NewCustomers(aggregate.CustomerSource{Vendor: model.VendorGDAP},
		aggregate.CustomerSource{Vendor: model.VendorCrayon}, aggregate.CustomerSource{Vendor: model.VendorBokaMera}), snaps, tokens)
	tenants := handleListTenants(nil, snaps, tokens)
	type page struct {
		Items []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"items"`
		Next, Prev string
		Total      *int `json:"total_size"`
		Errors     []struct{ Code, Message string }
	}
	get := func(h http.Handler, path string) (int, page) {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		ctx, cancel := context.WithTimeout(req.Context(), 5*time.Second)
		defer cancel()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req.WithContext(ctx))
		var raw struct {
			page
			Next string `json:"next_page_token"`
			Prev string `json:"previous_page_token"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		raw.page.Next, raw.page.Prev = raw.Next, raw.Prev
		return rec.Code, raw.page
	}
	names := func(p page) (out []string) {
		for _, it := range p.Items {
			out = append(out, it.Name)
		}
		return out
	}

	for _, c := range []struct {
		h     http.Handler
		path  string
		pages [][]string
	}{
		{customers, "/v1/customers?page_size=2&order_by=name%20desc", [][]string{{"Tenant E", "Tenant D"}, {"Tenant C", "Tenant B"}, {"Tenant A", "Org 4"}}},
		{tenants, "/v1/tenants?page_size=2&order_by=name", [][]string{{"Tenant A", "Tenant B"}, {"Tenant C", "Tenant D"}, {"Tenant E"}}},
		{tenants, "/v1/tenants?page_size=2&order_by=id%20desc&organization_id=4703", [][]string{{"Tenant A", "Tenant B"}, {"Tenant C", "Tenant D"}, {"Tenant E"}}},
	} {
		status, p := get(c.h, c.path)
		var prevs []string
		for i, want := range c.pages {
			if status != 200 || fmt.Sprint(names(p)) != fmt.Sprint(want) || p.Total == nil || (i == 0) != (p.Prev == "") {
				t.Fatalf("%s page %d: %d %v total %v prev %q, want %v", c.path, i, status, names(p), p.Total, p.Prev, want)
			}
			prevs = append(prevs, p.Prev)
			if p.Next == "" {
				break
			}
			status, p = get(c.h, c.path+"&page_token="+url.QueryEscape(p.Next))
		}
		// The last page's previous token gives the page before it.
		if _, back := get(c.h, c.path+"&page_token="+url.QueryEscape(prevs[len(prevs)-1])); fmt.Sprint(names(back)) != fmt.Sprint(c.pages[len(c.pages)-2]) {
			t.Errorf("%s: back %v, want %v", c.path, names(back), c.pages[len(c.pages)-2])
		}
	}
	if _, p := get(customers, "/v1/customers?q=tenant&vendor=crayon,bokamera"); *p.Total != 5 {
		t.Errorf("customers total %d, want 5", *p.Total)
	}
	if _, p := get(tenants, "/v1/tenants?q=T3.ONMICROSOFT"); *p.Total != 1 || p.Items[0].Name != "Tenant B" {
		t.Errorf("q on the domain: %+v", p)
	}
	if status, p := get(tenants, "/v1/tenants?page_token=forged"); status != 400 || len(p.Errors) != 1 || p.Errors[0].Code != "invalid_page_token" ||
		strings.Contains(p.Errors[0].Message, "GATEWAY_PAGE_TOKEN_KEY") {
		t.Errorf("forged token: %d %+v", status, p)
	}
}
