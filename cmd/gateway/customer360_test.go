package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/upstream/simfault"
	"github.com/partnerhub/gateway/internal/upstream/simseed"
)

// viewSection mirrors one section of the customer 360 view.
type viewSection struct {
	Vendor string            `json:"vendor"`
	Status string            `json:"status"`
	Detail string            `json:"detail"`
	Item   json.RawMessage   `json:"item"`
	Items  []json.RawMessage `json:"items"`
}

// customerView mirrors the public 360 answer.
type customerView struct {
	Customer       customerItem `json:"customer"`
	GDAP           viewSection  `json:"gdap"`
	Tenants        viewSection  `json:"tenants"`
	Agreements     viewSection  `json:"agreements"`
	Licenses       viewSection  `json:"licenses"`
	BookingRecords viewSection  `json:"booking_records"`
	Sources        []struct {
		Vendor string `json:"vendor"`
		Status string `json:"status"`
	} `json:"sources"`
	Complete bool `json:"complete"`
}

func (v customerView) sections() map[string]viewSection {
	return map[string]viewSection{"gdap": v.GDAP, "tenants": v.Tenants, "agreements": v.Agreements,
		"licenses": v.Licenses, "booking_records": v.BookingRecords}
}

func (v customerView) sourceStatus(vendor string) string {
	for _, s := range v.Sources {
		if s.Vendor == vendor {
			return s.Status
		}
	}
	return ""
}

// field decodes one JSON field of each raw item.
func field(t *testing.T, items []json.RawMessage, name string) []string {
	t.Helper()
	var out []string
	for _, raw := range items {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		s, _ := m[name].(string)
		out = append(out, s)
	}
	return out
}

func getView(t *testing.T, c *client, id string) customerView {
	t.Helper()
	r := c.do("GET", "/v1/customers/"+id, "")
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", id, r.Status, r.Body)
	}
	var v customerView
	r.JSON(t, &v)
	return v
}

func orgByName(t *testing.T, name string) simseed.Org {
	t.Helper()
	for _, o := range simseed.Orgs {
		if o.Name == name {
			return o
		}
	}
	t.Fatalf("no seeded org %q", name)
	return simseed.Org{}
}

func TestCustomerViewOfMergedCustomer(t *testing.T) {
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env())
	c := newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-reader"))
	contoso := orgByName(t, "Contoso AB")

	v := getView(t, c, "ms-"+contoso.TenantID)
	if v.Customer.ID != "ms-"+contoso.TenantID || v.Customer.Name != "Contoso AB" || len(v.Customer.References) != 2 {
		t.Fatalf("customer %+v, want Contoso merged from GDAP and Crayon", v.Customer)
	}
	if !v.Complete {
		t.Errorf("complete = false with every simulator healthy: %+v", v.sections())
	}
	for name, s := range v.sections() {
		if s.Status != "ok" {
			t.Errorf("section %s: status %q (%s), want ok", name, s.Status, s.Detail)
		}
	}
	wantVendor := map[string]string{"gdap": "gdap", "tenants": "crayon", "agreements": "crayon", "licenses": "dbsync", "booking_records": "bokamera"}
	for name, s := range v.sections() {
		if s.Vendor != wantVendor[name] {
			t.Errorf("section %s says vendor %q, want %q", name, s.Vendor, wantVendor[name])
		}
	}
	for _, vendor := range []string{"gdap", "crayon", "dbsync", "bokamera"} {
		if st := v.sourceStatus(vendor); st != "ok" {
			t.Errorf("source %s = %q, want ok", vendor, st)
		}
	}

	var gdap struct {
		CompanyName       string `json:"company_name"`
		MicrosoftTenantID string `json:"microsoft_tenant_id"`
	}
	if err := json.Unmarshal(v.GDAP.Item, &gdap); err != nil || gdap.MicrosoftTenantID != contoso.TenantID {
		t.Errorf("gdap item %s, want Contoso's record", v.GDAP.Item)
	}
	if ids := field(t, v.Tenants.Items, "id"); !slices.Equal(ids, []string{"1001"}) {
		t.Errorf("tenants %v, want Contoso's Crayon tenant 1001", ids)
	}
	var agreements []struct {
		TenantID   string            `json:"tenant_id"`
		Consented  bool              `json:"consented"`
		Agreements []json.RawMessage `json:"agreements"`
	}
	raw, _ := json.Marshal(v.Agreements.Items)
	_ = json.Unmarshal(raw, &agreements)
	if len(agreements) != 1 || agreements[0].TenantID != "1001" || !agreements[0].Consented || len(agreements[0].Agreements) != 1 {
		t.Errorf("agreements %s, want tenant 1001 with its seeded consent", raw)
	}
	users := field(t, v.Licenses.Items, "user")
	slices.Sort(users)
	if !slices.Equal(users, []string{"anna.lindqvist@contoso.se", "per.ek@contoso.se"}) {
		t.Errorf("licensed users %v, want Contoso AB's two", users)
	}
	emails := field(t, v.BookingRecords.Items, "email")
	if !slices.Equal(emails, []string{"anna.lindqvist@contoso.se", "per.ek@contoso.se"}) {
		t.Errorf("booking records %v, want the two contoso.se people", emails)
	}

	// The view's customer is the one the list shows under the same id.
	var list customerList
	c.do("GET", "/v1/customers?q="+url.QueryEscape(contoso.TenantID), "").JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != v.Customer.ID || list.Items[0].Name != v.Customer.Name {
		t.Errorf("list has %+v for the view's %+v", list.Items, v.Customer)
	}
}

func TestCustomerViewOfSingleVendorCustomers(t *testing.T) {
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env())
	c := newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-reader"))

	t.Run("gdap only", func(t *testing.T) {
		v := getView(t, c, "ms-"+orgByName(t, "Woodgrove Bank").TenantID)
		if !v.Complete || v.GDAP.Status != "ok" || len(v.GDAP.Item) == 0 || string(v.GDAP.Item) == "null" {
			t.Fatalf("gdap %+v complete %v", v.GDAP, v.Complete)
		}
		// Crayon was asked and has no tenant; so there is no consent to read.
		if v.Tenants.Status != "ok" || len(v.Tenants.Items) != 0 || v.Agreements.Status != "not_applicable" {
			t.Errorf("tenants %+v agreements %+v", v.Tenants, v.Agreements)
		}
	})
	t.Run("crayon only", func(t *testing.T) {
		v := getView(t, c, "ms-"+orgByName(t, "Proseware AB").TenantID)
		if !v.Complete || v.GDAP.Status != "ok" || string(v.GDAP.Item) != "null" {
			t.Fatalf("gdap %+v complete %v, want ok with a null item", v.GDAP, v.Complete)
		}
		if len(v.Tenants.Items) != 1 || v.Agreements.Status != "ok" || len(v.Agreements.Items) != 1 {
			t.Errorf("tenants %+v agreements %+v", v.Tenants, v.Agreements)
		}
		if users := field(t, v.Licenses.Items, "user"); !slices.Equal(users, []string{"karin.nilsson@proseware.se"}) {
			t.Errorf("licensed users %v, want Proseware AB's", users)
		}
	})
	t.Run("booking person", func(t *testing.T) {
		anna := simseed.BookingCustomers[0]
		v := getView(t, c, "bokamera-"+anna.ID)
		if v.Customer.ID != "bokamera-"+anna.ID || !v.Complete {
			t.Fatalf("customer %+v complete %v", v.Customer, v.Complete)
		}
		for _, name := range []string{"gdap", "tenants", "agreements"} {
			if s := v.sections()[name]; s.Status != "not_applicable" {
				t.Errorf("section %s status %q, want not_applicable for a person", name, s.Status)
			}
		}
		if ids := field(t, v.BookingRecords.Items, "id"); !slices.Equal(ids, []string{anna.ID}) {
			t.Errorf("booking records %v, want the person's own", ids)
		}
		if cos := field(t, v.Licenses.Items, "company"); !slices.Equal(cos, []string{"Contoso AB"}) {
			t.Errorf("licenses held under the person's e-mail: %v, want one at Contoso AB", cos)
		}
		if st := v.sourceStatus("gdap"); st != "" {
			t.Errorf("gdap was asked (%s) about a booking person", st)
		}
	})
}

func TestCustomerViewRejectsAndRefuses(t *testing.T) {
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env())
	c := newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-reader"))

	notFound := []struct{ name, id, detail string }{
		{"unknown tenant", "ms-00000000-0000-4000-8000-00000000abcd", ""},
		{"unknown booking customer", "bokamera-00000000-0000-4000-8000-00000000abcd", ""},
		{"unknown crayon tenant", "crayon-999999", ""},
		{"removed crayon tenant", "ms-" + orgByName(t, "Alpine Ski House").TenantID, ""},
	}
	for _, tc := range notFound {
		t.Run(tc.name, func(t *testing.T) {
			p := expectProblem(t, c.do("GET", "/v1/customers/"+tc.id, ""), 404)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("detail %q does not name %s", p.Detail, tc.detail)
			}
		})
	}

	before := sims.GDAP.Faults.TotalCalls() + sims.Crayon.Faults.TotalCalls() + sims.BokaMera.Faults.TotalCalls() + sims.DBSync.Faults.TotalCalls()
	badRequest := []struct{ name, path, location string }{
		{"empty include", "/v1/customers/ms-" + simseed.Orgs[0].TenantID + "?include=", "query.include"},
		{"unknown section", "/v1/customers/ms-" + simseed.Orgs[0].TenantID + "?include=gdap,invoices", "query.include"},
		{"no prefix", "/v1/customers/contoso", "path.id"},
		{"not a guid", "/v1/customers/ms-contoso", "path.id"},
		{"gdap id", "/v1/customers/gdap-" + simseed.Orgs[0].TenantID, "path.id"},
		{"zero crayon id", "/v1/customers/crayon-0", "path.id"},
		{"padded crayon id", "/v1/customers/crayon-01001", "path.id"},
		{"booking id not a guid", "/v1/customers/bokamera-42", "path.id"},
		{"unknown vendor", "/v1/customers/dbsync-1", "path.id"},
		{"unknown parameter", "/v1/customers/ms-" + simseed.Orgs[0].TenantID + "?expand=all", "query.expand"},
	}
	for _, tc := range badRequest {
		t.Run(tc.name, func(t *testing.T) {
			p := expectProblem(t, c.do("GET", tc.path, ""), 400)
			if len(p.Errors) != 1 || p.Errors[0].Location != tc.location {
				t.Fatalf("errors %+v, want one at %s", p.Errors, tc.location)
			}
		})
	}
	after := sims.GDAP.Faults.TotalCalls() + sims.Crayon.Faults.TotalCalls() + sims.BokaMera.Faults.TotalCalls() + sims.DBSync.Faults.TotalCalls()
	if after != before {
		t.Errorf("bad ids caused %d vendor calls", after-before)
	}

	id := "/v1/customers/ms-" + simseed.Orgs[0].TenantID
	t.Run("no token", func(t *testing.T) {
		r := c.withToken("").do("GET", id, "")
		expectProblem(t, r, 401)
		if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
		}
	})
	t.Run("no role", func(t *testing.T) {
		now := time.Now()
		tok, err := sims.Issuer.Sign(map[string]any{"iss": sims.Issuer.URL(), "aud": testAudience, "sub": "guest",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "roles": []string{"guest"}})
		if err != nil {
			t.Fatal(err)
		}
		p := expectProblem(t, c.withToken(tok).do("GET", id, ""), 403)
		if !strings.Contains(p.Detail, "customers:read") {
			t.Fatalf("403 does not name the permission: %q", p.Detail)
		}
	})
}

// setFault posts a fault to a simulator's admin endpoint, as a person
// trying the gateway by hand would.
func setFault(t *testing.T, baseURL string, f simfault.Fault) {
	t.Helper()
	u, err := url.Parse(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path, u.RawQuery = simfault.AdminPath, ""
	body, _ := json.Marshal(f)
	resp, err := http.Post(u.String(), "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("setting fault on %s: status %d", u, resp.StatusCode)
	}
}

func TestCustomerViewOneVendorFailing(t *testing.T) {
	tests := []struct {
		name     string
		env      string // the failing vendor's base URL variable
		fault    simfault.Fault
		extraEnv []string
		vendor   string
		status   string
		blanked  []string // sections left empty
	}{
		{"dbsync errors", "GATEWAY_DBSYNC_BASE_URL", simfault.Fault{Status: 500}, nil, "dbsync", "error", []string{"licenses"}},
		{"bokamera hangs", "GATEWAY_BOKAMERA_BASE_URL", simfault.Fault{Hang: true},
			[]string{"GATEWAY_BOKAMERA_TIMEOUT", "300ms"}, "bokamera", "timeout", []string{"booking_records"}},
		{"crayon errors", "GATEWAY_CRAYON_BASE_URL", simfault.Fault{Status: 500}, nil, "crayon", "error", []string{"tenants", "agreements"}},
		{"gdap errors", "GATEWAY_GDAP_BASE_URL", simfault.Fault{Status: 500}, nil, "gdap", "error", []string{"gdap"}},
	}
	contoso := orgByName(t, "Contoso AB")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sims := newVendorSims(t)
			gw := startRun(t, nil, sims.Env(tc.extraEnv...))
			c := newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-reader"))
			setFault(t, sims.Env()[tc.env], tc.fault)

			v := getView(t, c, "ms-"+contoso.TenantID)
			if v.Complete {
				t.Error("complete = true with a vendor failing")
			}
			if v.Customer.ID != "ms-"+contoso.TenantID || v.Customer.Name != "Contoso AB" {
				t.Errorf("customer %+v", v.Customer)
			}
			if st := v.sourceStatus(tc.vendor); st != tc.status {
				t.Errorf("source %s = %q, want %q", tc.vendor, st, tc.status)
			}
			for name, s := range v.sections() {
				if slices.Contains(tc.blanked, name) {
					if s.Vendor != tc.vendor || s.Status != tc.status || s.Detail == "" || len(s.Items) != 0 ||
						(name == "gdap" && string(s.Item) != "null") {
						t.Errorf("section %s = %+v, want blank with %s %s and a detail", name, s, tc.vendor, tc.status)
					}
					continue
				}
				if s.Status != "ok" {
					t.Errorf("section %s = %q (%s), want ok: only %s failed", name, s.Status, s.Detail, tc.vendor)
				}
			}
		})
	}
}

func TestCustomerViewIdentifyingVendorsFailing(t *testing.T) {
	id := "/v1/customers/ms-" + simseed.Orgs[0].TenantID
	tests := []struct {
		name   string
		fault  simfault.Fault
		env    []string
		status int
	}{
		{"errors give 502", simfault.Fault{Status: 500}, nil, 502},
		{"hangs give 504", simfault.Fault{Hang: true}, []string{"GATEWAY_GDAP_TIMEOUT", "300ms", "GATEWAY_CRAYON_TIMEOUT", "300ms"}, 504},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sims := newVendorSims(t)
			gw := startRun(t, nil, sims.Env(tc.env...))
			c := newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-reader"))
			sims.GDAP.Faults.Set(tc.fault)
			sims.Crayon.Faults.Set(tc.fault)
			expectProblem(t, c.do("GET", id, ""), tc.status)
			// Nothing was identified, so no section vendor was asked.
			if n := sims.DBSync.Faults.TotalCalls() + sims.BokaMera.Faults.TotalCalls(); n != 0 {
				t.Errorf("%d section calls for an unidentified customer", n)
			}
		})
	}
	t.Run("open breakers give 503 with Retry-After", func(t *testing.T) {
		sims := newVendorSims(t)
		gw := startRun(t, nil, sims.Env("GATEWAY_BREAKER_MIN_REQUESTS", "2", "GATEWAY_BREAKER_OPEN_FOR", "1m"))
		c := newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-reader"))
		sims.GDAP.Faults.Set(simfault.Fault{Status: 500})
		sims.Crayon.Faults.Set(simfault.Fault{Status: 500})
		for range 2 {
			expectProblem(t, c.do("GET", id, ""), 502)
		}
		r := c.do("GET", id, "")
		expectProblem(t, r, 503)
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
	})
	t.Run("unknown to one, the other failing is not a 404", func(t *testing.T) {
		sims := newVendorSims(t)
		gw := startRun(t, nil, sims.Env())
		c := newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-reader"))
		// Litware is Crayon's only; with Crayon down GDAP's "unknown" proves nothing.
		sims.Crayon.Faults.Set(simfault.Fault{Status: 500})
		expectProblem(t, c.do("GET", "/v1/customers/ms-"+orgByName(t, "Litware Inc").TenantID, ""), 502)
	})
}

// An alias of a merged customer answers that customer, pointing at its
// canonical id; include= loads one section and calls only its vendor.
func TestCustomerViewAliasAndInclude(t *testing.T) {
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env())
	c := newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-reader"))
	northwind := "ms-" + orgByName(t, "Northwind Traders AS").TenantID

	// Northwind's Crayon tenant joins GDAP's on the domain.
	r := c.do("GET", "/v1/customers/crayon-1003", "")
	if r.Status != http.StatusOK {
		t.Fatalf("alias: status %d: %s", r.Status, r.Body)
	}
	if link, want := r.Header.Get("Link"), "</v1/customers/"+northwind+`>; rel="canonical"`; link != want {
		t.Errorf("Link %q, want %q", link, want)
	}
	var alias customerView
	r.JSON(t, &alias)
	canonical := getView(t, c, northwind)
	if alias.Customer.ID != northwind || !slices.Equal(field(t, alias.Tenants.Items, "id"), field(t, canonical.Tenants.Items, "id")) {
		t.Errorf("alias answered %+v, want the canonical customer %+v", alias.Customer, canonical.Customer)
	}
	if r := c.do("GET", "/v1/customers/"+northwind, ""); r.Header.Get("Link") != "" {
		t.Errorf("the canonical id has a Link: %q", r.Header.Get("Link"))
	}

	// DBSync feeds only the licenses section (and no snapshot).
	dbsync := sims.DBSync.Faults.TotalCalls()
	r = c.do("GET", "/v1/customers/"+northwind+"?include=gdap,tenants", "")
	if r.Status != http.StatusOK {
		t.Fatalf("include: status %d: %s", r.Status, r.Body)
	}
	var sections map[string]json.RawMessage
	r.JSON(t, &sections)
	for _, name := range []string{"agreements", "licenses", "booking_records", "subscriptions", "gdap_relationships"} {
		if _, ok := sections[name]; ok {
			t.Errorf("section %s present though not included", name)
		}
	}
	var gdap struct {
		AsOf time.Time `json:"as_of"`
	}
	if err := json.Unmarshal(sections["gdap"], &gdap); err != nil || gdap.AsOf.IsZero() || gdap.AsOf.After(time.Now()) {
		t.Errorf("gdap section %s: as_of missing or in the future (%v)", sections["gdap"], err)
	}
	if n := sims.DBSync.Faults.TotalCalls() - dbsync; n != 0 {
		t.Errorf("dbsync called %d times for include=gdap,tenants", n)
	}
	licenses := getView(t, c, northwind+"?include=licenses")
	if licenses.Licenses.Status != "ok" || sims.DBSync.Faults.TotalCalls() == dbsync {
		t.Errorf("include=licenses: section %+v, dbsync calls %d", licenses.Licenses, sims.DBSync.Faults.TotalCalls()-dbsync)
	}
}
