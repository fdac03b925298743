package main

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/partnerhub/gateway/internal/upstream/crayon/crayonsim"
	"github.com/partnerhub/gateway/internal/upstream/simfault"
	"github.com/partnerhub/gateway/internal/upstream/simseed"
)

type tenantBody struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	MicrosoftTenantID string `json:"microsoft_tenant_id"`
	Type              string `json:"type"`
	Status            string `json:"status"`
	GDAP              *struct {
		MicrosoftTenantID string `json:"microsoft_tenant_id"`
		CompanyName       string `json:"company_name"`
	} `json:"gdap"`
}

type sourced struct {
	Sources []struct {
		Vendor string `json:"vendor"`
		Status string `json:"status"`
	} `json:"sources"`
	Complete bool `json:"complete"`
}

func (s sourced) status(vendor string) string {
	for _, src := range s.Sources {
		if src.Vendor == vendor {
			return src.Status
		}
	}
	return ""
}

type tenantPage struct {
	Items         []tenantBody `json:"items"`
	NextPageToken string       `json:"next_page_token"`
	sourced
}

type tenantDetail struct {
	tenantBody
	sourced
}

func startTenantGateway(t *testing.T, env ...string) (*vendorSims, *client) {
	t.Helper()
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env(env...))
	return sims, newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-reader"))
}

func TestListTenantsPagesThroughCrayon(t *testing.T) {
	_, c := startTenantGateway(t)
	seen := map[string]bool{}
	path := "/v1/tenants?page_size=60"
	pages := 0
	for path != "" {
		if pages++; pages > 10 {
			t.Fatal("paging does not end")
		}
		r := c.do("GET", path, "")
		if r.Status != 200 {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		var p tenantPage
		r.JSON(t, &p)
		if !p.Complete || p.status("crayon") != "ok" || p.status("gdap") != "ok" {
			t.Fatalf("sources %+v complete %v", p.Sources, p.Complete)
		}
		for _, it := range p.Items {
			if seen[it.ID] {
				t.Fatalf("tenant %s on two pages", it.ID)
			}
			seen[it.ID] = true
		}
		path = ""
		if p.NextPageToken != "" {
			path = "/v1/tenants?page_size=60&page_token=" + url.QueryEscape(p.NextPageToken)
		}
	}
	if len(seen) != crayonsim.SeedTenantCount || pages != 3 {
		t.Fatalf("%d tenants over %d pages, want %d over 3", len(seen), pages, crayonsim.SeedTenantCount)
	}
}

func TestListTenantsFiltersAndEnriches(t *testing.T) {
	sims, c := startTenantGateway(t)
	var p tenantPage
	c.do("GET", "/v1/tenants?q=Contoso&tenant_type=t2&organization_id="+fmt.Sprint(simseed.CrayonOrganizationID), "").JSON(t, &p)
	if len(p.Items) != 1 || p.Items[0].Name != "Contoso AB" || p.Items[0].Type != "t2" {
		t.Fatalf("items %+v", p.Items)
	}
	if g := p.Items[0].GDAP; g == nil || g.MicrosoftTenantID != simseed.Orgs[0].TenantID {
		t.Fatalf("Contoso not enriched with its GDAP view: %+v", g)
	}
	// Northwind's Crayon record lacks the tenant id: joined on the domain.
	c.do("GET", "/v1/tenants?domain_prefix=northwindas", "").JSON(t, &p)
	if len(p.Items) != 1 || p.Items[0].GDAP == nil {
		t.Fatalf("northwind: %+v", p.Items)
	}
	if n := sims.Crayon.Faults.Calls("GET", "/api/v1/customertenants/"); n != 2 {
		t.Errorf("crayon list calls = %d, want 2", n)
	}
}

func TestGetTenant(t *testing.T) {
	first := fmt.Sprint(crayonsim.FirstTenantID)
	t.Run("enriched", func(t *testing.T) {
		_, c := startTenantGateway(t)
		r := c.do("GET", "/v1/tenants/"+first, "")
		var d tenantDetail
		r.JSON(t, &d)
		if r.Status != 200 || d.ID != first || d.GDAP == nil || !d.Complete {
			t.Fatalf("status %d body %s", r.Status, r.Body)
		}
	})
	t.Run("GDAP failing blanks only gdap", func(t *testing.T) {
		sims, c := startTenantGateway(t)
		sims.GDAP.Faults.Set(simfault.Fault{Status: 500})
		r := c.do("GET", "/v1/tenants/"+first, "")
		var d tenantDetail
		r.JSON(t, &d)
		if r.Status != 200 || d.GDAP != nil || d.Complete || d.status("gdap") != "error" || d.Name != "Contoso AB" {
			t.Fatalf("status %d body %s", r.Status, r.Body)
		}
	})
	t.Run("Crayon failing", func(t *testing.T) {
		sims, c := startTenantGateway(t)
		sims.Crayon.Faults.Set(simfault.Fault{Status: 500})
		expectProblem(t, c.do("GET", "/v1/tenants/"+first, ""), 502)
		expectProblem(t, c.do("GET", "/v1/tenants", ""), 502)
	})
	t.Run("errors", func(t *testing.T) {
		sims, c := startTenantGateway(t)
		expectProblem(t, c.do("GET", "/v1/tenants/999999", ""), 404)
		before := sims.Crayon.Faults.TotalCalls()
		// Crayon ids have at most 10 digits (the contract's pattern): longer
		// ones, even if they fit an int64, never reach Crayon.
		for _, id := range []string{"0", "-3", "abc", "01", "99999999999999999999", "99999999999", "9223372036854775807"} {
			p := expectProblem(t, c.do("GET", "/v1/tenants/"+id, ""), 400)
			if len(p.Errors) != 1 || p.Errors[0].Location != "path.id" {
				t.Errorf("%s: errors %+v", id, p.Errors)
			}
		}
		for _, path := range []string{"/v1/tenants/99999999999/agreements", "/v1/customers/crayon-99999999999"} {
			p := expectProblem(t, c.do("GET", path, ""), 400)
			if len(p.Errors) != 1 || p.Errors[0].Location != "path.id" {
				t.Errorf("%s: errors %+v", path, p.Errors)
			}
		}
		if n := sims.Crayon.Faults.TotalCalls(); n != before {
			t.Errorf("bad ids reached crayon (%d calls)", n-before)
		}
	})
}
