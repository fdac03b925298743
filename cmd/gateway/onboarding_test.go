package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/testclock"
	"github.com/partnerhub/gateway/internal/upstream/gdap/gdapsim"
	"github.com/partnerhub/gateway/internal/upstream/simfault"
	"github.com/partnerhub/gateway/internal/upstream/simseed"
)

type onboardingBody struct {
	ID               string `json:"id"`
	Kind             string `json:"kind"`
	CustomerTenantID string `json:"customer_tenant_id"`
	Mode             string `json:"mode"`
	State            string `json:"state"`
	TemplateID       string `json:"template_id"`
	Steps            []struct {
		Number int    `json:"number"`
		Name   string `json:"name"`
		State  string `json:"state"`
		Error  string `json:"error"`
	} `json:"steps"`
	FailedStep      int              `json:"failed_step"`
	SecurityGroups  []map[string]any `json:"security_groups"`
	AssignedRoleIDs []string         `json:"assigned_role_ids"`
	LastError       string           `json:"last_error"`
}

const groupOwner = "11111111-2222-4333-8444-555555555555"

func startOnboardingGateway(t *testing.T) (*vendorSims, *client) {
	t.Helper()
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env())
	return sims, newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-admin"))
}

func onboardingRequest(customer string) string {
	return fmt.Sprintf(`{"customer_tenant_id":%q,"mode":"template","template_name":"Helpdesk","role_ids":[%q,%q],"duration":"P2Y","group_owner_id":%q}`,
		customer, simseed.GDAPRoles[2].ID, simseed.GDAPRoles[3].ID, groupOwner)
}

// waitOnboarding polls the job until it leaves running (bounded wide).
func waitOnboarding(t *testing.T, c *client, id string) onboardingBody {
	t.Helper()
	var o onboardingBody
	// As a frontend would poll: well inside the per-caller rate limit.
	testclock.WaitFor(t, 20*time.Second, 200*time.Millisecond, "onboarding "+id+" to finish", func() bool {
		o = onboardingBody{}
		r := c.do("GET", "/v1/gdap/onboardings/"+id, "")
		if r.Status != http.StatusOK {
			t.Fatalf("GET onboarding: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &o)
		return o.State != "running" && o.State != "pending"
	})
	return o
}

func startOnboarding(t *testing.T, c *client, body string, headers ...string) onboardingBody {
	t.Helper()
	r := c.do("POST", "/v1/gdap/onboardings", body, headers...)
	if r.Status != http.StatusAccepted {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	var o onboardingBody
	r.JSON(t, &o)
	if r.Header.Get("Location") != "/v1/gdap/onboardings/"+o.ID || o.Kind != "gdap_onboarding" {
		t.Fatalf("Location %q for %+v", r.Header.Get("Location"), o)
	}
	return o
}

func TestGDAPOnboardingRunsToCompletion(t *testing.T) {
	sims, c := startOnboardingGateway(t)
	woodgrove := orgByName(t, "Woodgrove Bank")
	started := startOnboarding(t, c, onboardingRequest(woodgrove.TenantID))
	if started.State != "running" || started.CustomerTenantID != woodgrove.TenantID || len(started.Steps) != 3 {
		t.Fatalf("started %+v", started)
	}
	o := waitOnboarding(t, c, started.ID)
	if o.State != "succeeded" || o.FailedStep != 0 || o.LastError != "" {
		t.Fatalf("job %+v", o)
	}
	for i, want := range []string{"publish_template", "create_security_groups", "migrate_customer"} {
		if s := o.Steps[i]; s.Number != i+1 || s.Name != want || s.State != "succeeded" {
			t.Errorf("step %d = %+v", i+1, s)
		}
	}
	if len(o.TemplateID) != 36 || len(o.SecurityGroups) != 2 || len(o.AssignedRoleIDs) != 2 {
		t.Errorf("results %+v", o)
	}
	if st, ok := sims.GDAP.RelationshipStatus(woodgrove.TenantID); !ok || st != "active" {
		t.Errorf("GDAP relationship %q %v, want active", st, ok)
	}
	// Audited: begun at the start, finished with the job's outcome.
	events := listAudit(t, c, "?operation=gdap.onboard")
	if len(events.Items) != 1 || events.Items[0].Outcome != "succeeded" || events.Items[0].Target != "gdap-onboarding/"+o.ID {
		t.Errorf("audit %+v", events.Items)
	}
	// The job is in the shared job model too.
	r := c.do("GET", "/v1/sync-jobs/"+o.ID, "")
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"kind":"gdap_onboarding"`) {
		t.Errorf("sync-jobs view: %d %s", r.Status, r.Body)
	}
}

func TestGDAPOnboardingFailingStepIsNamed(t *testing.T) {
	sims, c := startOnboardingGateway(t)
	woodgrove := orgByName(t, "Woodgrove Bank")
	sims.GDAP.Faults.Set(simfault.Fault{Status: 500, PathContains: "CreateSecurityGroupsByTemplate"})
	o := waitOnboarding(t, c, startOnboarding(t, c, onboardingRequest(woodgrove.TenantID)).ID)
	if o.State != "failed" || o.FailedStep != 2 || !strings.Contains(o.LastError, "step 2 (create_security_groups)") ||
		!strings.Contains(o.LastError, "500") {
		t.Fatalf("job %+v", o)
	}
	if o.Steps[0].State != "succeeded" || o.Steps[1].State != "failed" || o.Steps[1].Error == "" || o.Steps[2].State != "not_run" {
		t.Errorf("steps %+v", o.Steps)
	}
	if n := sims.GDAP.OnboardingCalls("MigrateCustomerByTemplate"); n != 0 {
		t.Errorf("migration sent %d times after step 2 failed", n)
	}
	events := listAudit(t, c, "?operation=gdap.onboard")
	if len(events.Items) != 1 || events.Items[0].Outcome != "failed" {
		t.Errorf("audit %+v", events.Items)
	}
	// The failed job freed the customer: a new onboarding may start.
	sims.GDAP.Faults.Clear()
	if o2 := waitOnboarding(t, c, startOnboarding(t, c, onboardingRequest(woodgrove.TenantID)).ID); o2.State != "succeeded" {
		t.Errorf("retry after the failure: %+v", o2)
	}
}

func TestGDAPOnboardingOnePerCustomer(t *testing.T) {
	sims, c := startOnboardingGateway(t)
	woodgrove := orgByName(t, "Woodgrove Bank")
	// The vendor's transition takes a while, so the first job is still running.
	sims.GDAP.SetTransitionDelay(4 * time.Second) // wide: the second start must come while it runs
	first := startOnboarding(t, c, onboardingRequest(woodgrove.TenantID))
	p := expectProblem(t, c.do("POST", "/v1/gdap/onboardings", onboardingRequest(woodgrove.TenantID)), http.StatusConflict)
	if !strings.Contains(p.Detail, first.ID) {
		t.Errorf("conflict does not name the running job: %s", p.Detail)
	}
	// Another customer is not blocked.
	adventure := orgByName(t, "Adventure Works GmbH")
	other := startOnboarding(t, c, onboardingRequest(adventure.TenantID))
	for _, id := range []string{first.ID, other.ID} {
		if o := waitOnboarding(t, c, id); o.State != "succeeded" {
			t.Errorf("job %s: %+v", id, o)
		}
	}
	if n := sims.GDAP.OnboardingCalls("PublishTemplate"); n != 2 {
		t.Errorf("PublishTemplate called %d times, want 2 (the refused start called nothing)", n)
	}
}

func TestGDAPOnboardingIdempotencyKey(t *testing.T) {
	sims, c := startOnboardingGateway(t)
	woodgrove := orgByName(t, "Woodgrove Bank")
	body := onboardingRequest(woodgrove.TenantID)
	first := c.do("POST", "/v1/gdap/onboardings", body, "Idempotency-Key", "onb-1")
	again := c.do("POST", "/v1/gdap/onboardings", body, "Idempotency-Key", "onb-1")
	if first.Status != http.StatusAccepted || again.Status != http.StatusAccepted || string(first.Body) != string(again.Body) ||
		again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("first %d, again %d %s (replayed %q)", first.Status, again.Status, again.Body, again.Header.Get("Idempotent-Replayed"))
	}
	var o onboardingBody
	first.JSON(t, &o)
	waitOnboarding(t, c, o.ID)
	if n := sims.GDAP.OnboardingCalls("PublishTemplate"); n != 1 {
		t.Errorf("PublishTemplate called %d times for one key", n)
	}
}

func TestGDAPOnboardingRejectsBadInput(t *testing.T) {
	sims, c := startOnboardingGateway(t)
	woodgrove := orgByName(t, "Woodgrove Bank")
	cases := []struct {
		name, body string
		locations  []string
	}{
		{"bad duration and customer", `{"customer_tenant_id":"acme","mode":"template","template_name":"x","role_ids":["` + simseed.GDAPRoles[0].ID + `"],"duration":"P3Y","group_owner_id":"` + groupOwner + `"}`,
			[]string{"body.customer_tenant_id", "body.duration"}},
		{"no mode", `{"customer_tenant_id":"` + woodgrove.TenantID + `","duration":"P1D"}`, []string{"body.mode"}},
		{"duplicate role, no owner", `{"customer_tenant_id":"` + woodgrove.TenantID + `","mode":"template","template_name":"x","role_ids":["` +
			simseed.GDAPRoles[0].ID + `","` + strings.ToUpper(simseed.GDAPRoles[0].ID) + `"],"duration":"P30D"}`, []string{"body.role_ids", "body.group_owner_id"}},
		// Roles are checked against GetAvailableRoles before anything is sent.
		{"role GDAP does not offer", `{"customer_tenant_id":"` + woodgrove.TenantID + `","mode":"express","role_ids":["62e90394-69f5-4237-9190-012177145e10"],"duration":"P30D"}`,
			[]string{"body.role_ids"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := expectProblem(t, c.do("POST", "/v1/gdap/onboardings", tc.body), http.StatusBadRequest)
			var locs []string
			for _, e := range p.Errors {
				if len(locs) == 0 || locs[len(locs)-1] != e.Location {
					locs = append(locs, e.Location)
				}
			}
			if strings.Join(locs, ",") != strings.Join(tc.locations, ",") {
				t.Errorf("errors at %v, want %v: %+v", locs, tc.locations, p.Errors)
			}
		})
	}
	for _, route := range []string{"PublishTemplate", "ExpressTransition", "CreateSecurityGroupsByTemplate", "MigrateCustomerByTemplate"} {
		if n := sims.GDAP.OnboardingCalls(route); n != 0 {
			t.Errorf("%s called %d times for bad input", route, n)
		}
	}
	// Onboarding is for admins only.
	op := c.withToken(fetchToken(t, sims.Issuer.URL(), "dev-operator"))
	expectProblem(t, op.do("POST", "/v1/gdap/onboardings", onboardingRequest(woodgrove.TenantID)), http.StatusForbidden)
	expectProblem(t, c.do("GET", "/v1/gdap/onboardings/nope", ""), http.StatusBadRequest)
	expectProblem(t, c.do("GET", "/v1/gdap/onboardings/00000000-0000-4000-8000-000000000000", ""), http.StatusNotFound)
}

func TestGDAPTemplateEndpointsAndExpress(t *testing.T) {
	sims, c := startOnboardingGateway(t)
	r := c.do("POST", "/v1/gdap/templates", fmt.Sprintf(`{"name":"Readers","role_ids":[%q],"duration":"P365D"}`, simseed.GDAPRoles[5].ID))
	if r.Status != http.StatusCreated {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}
	var tpl struct {
		TemplateID string `json:"template_id"`
		Roles      []struct {
			Name string `json:"name"`
		} `json:"roles"`
	}
	r.JSON(t, &tpl)
	if len(tpl.TemplateID) != 36 || len(tpl.Roles) != 1 || tpl.Roles[0].Name != simseed.GDAPRoles[5].Name {
		t.Fatalf("template %s", r.Body)
	}
	r = c.do("POST", "/v1/gdap/templates/"+tpl.TemplateID+"/security-groups", `{"owner_id":"`+groupOwner+`"}`)
	if r.Status != http.StatusCreated || !strings.Contains(string(r.Body), `"succeeded":true`) {
		t.Fatalf("groups: %d %s", r.Status, r.Body)
	}
	// A published template with its groups: only the migration runs.
	adventure := orgByName(t, "Adventure Works GmbH")
	o := waitOnboarding(t, c, startOnboarding(t, c, fmt.Sprintf(`{"customer_tenant_id":%q,"mode":"template","template_id":%q,"duration":"P365D"}`,
		adventure.TenantID, tpl.TemplateID)).ID)
	if o.State != "succeeded" || o.Steps[0].State != "skipped" || o.Steps[1].State != "skipped" || o.Steps[2].State != "succeeded" {
		t.Fatalf("job %+v", o)
	}
	// Express: one step at the vendor.
	sims.GDAP.SetRelationshipsVariant(gdapsim.RelationshipsGraph)
	woodgrove := orgByName(t, "Woodgrove Bank")
	o = waitOnboarding(t, c, startOnboarding(t, c, fmt.Sprintf(`{"customer_tenant_id":%q,"mode":"express","role_ids":[%q],"duration":"P90D"}`,
		woodgrove.TenantID, simseed.GDAPRoles[1].ID)).ID)
	if o.State != "succeeded" || len(o.Steps) != 1 || o.Steps[0].Name != "express_transition" || len(o.AssignedRoleIDs) != 1 {
		t.Fatalf("express %+v", o)
	}
	// Bad input to the template endpoints.
	p := expectProblem(t, c.do("POST", "/v1/gdap/templates", `{"name":"","role_ids":[],"duration":"P0D"}`), http.StatusBadRequest)
	if len(p.Errors) != 3 {
		t.Errorf("errors %+v", p.Errors)
	}
	expectProblem(t, c.do("POST", "/v1/gdap/templates/xyz/security-groups", `{"owner_id":"me"}`), http.StatusBadRequest)
	if n := sims.GDAP.OnboardingCalls("PublishTemplate"); n != 1 {
		t.Errorf("PublishTemplate called %d times, want 1", n)
	}
}

type relationshipView struct {
	GDAPRelationships struct {
		Vendor string `json:"vendor"`
		Status string `json:"status"`
		Detail string `json:"detail"`
		Items  []struct {
			Status           string   `json:"status"`
			CustomerTenantID string   `json:"customer_tenant_id"`
			RoleIDs          []string `json:"role_ids"`
			EndsAt           string   `json:"ends_at"`
		} `json:"items"`
	} `json:"gdap_relationships"`
	Complete bool `json:"complete"`
}

func getRelationships(t *testing.T, c *client, id string) relationshipView {
	t.Helper()
	r := c.do("GET", "/v1/customers/"+id, "")
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", id, r.Status, r.Body)
	}
	var v relationshipView
	r.JSON(t, &v)
	return v
}

func TestCustomerViewGDAPRelationships(t *testing.T) {
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env("GATEWAY_CACHE_TTL", "0"))
	c := newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-reader"))
	contoso := orgByName(t, "Contoso AB")

	// The documented API has no relationship listing: unknown, and the
	// rest of the view is whole.
	v := getRelationships(t, c, "ms-"+contoso.TenantID)
	if v.GDAPRelationships.Status != "unknown" || len(v.GDAPRelationships.Items) != 0 || !v.Complete {
		t.Fatalf("without the route: %+v", v)
	}
	full := getView(t, c, "ms-"+contoso.TenantID)
	for name, s := range full.sections() {
		if s.Status != "ok" {
			t.Errorf("section %s = %s without the relationship route", name, s.Status)
		}
	}

	for _, variant := range []string{gdapsim.RelationshipsGraph, gdapsim.RelationshipsValue} {
		sims.GDAP.SetRelationshipsVariant(variant)
		v = getRelationships(t, c, "ms-"+contoso.TenantID)
		items := v.GDAPRelationships.Items
		if v.GDAPRelationships.Status != "ok" || len(items) != 1 || items[0].Status != "active" ||
			items[0].CustomerTenantID != contoso.TenantID || len(items[0].RoleIDs) != 1 || items[0].EndsAt == "" || !v.Complete {
			t.Errorf("%s: %+v", variant, v)
		}
	}
	// A customer outside GDAP's tenant list: not applicable when no
	// Microsoft tenant is known; an empty list otherwise.
	if v := getRelationships(t, c, "ms-"+orgByName(t, "Litware Inc").TenantID); v.GDAPRelationships.Status != "ok" || len(v.GDAPRelationships.Items) != 0 {
		t.Errorf("Litware: %+v", v)
	}
	// GDAP failing only for the listing: that section fails, alone.
	sims.GDAP.Faults.Set(simfault.Fault{Status: 500, PathContains: "GetRelationships"})
	v = getRelationships(t, c, "ms-"+contoso.TenantID)
	if v.GDAPRelationships.Status != "error" || v.Complete {
		t.Errorf("listing failing: %+v", v)
	}
}
