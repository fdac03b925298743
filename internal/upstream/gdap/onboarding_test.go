package gdap

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream"
	"github.com/partnerhub/gateway/internal/upstream/gdap/gdapsim"
	"github.com/partnerhub/gateway/internal/upstream/simseed"
)

func roles(n int) []model.Role {
	out := make([]model.Role, n)
	for i := range out {
		g := simseed.GDAPRoles[i]
		out[i] = model.Role{ID: g.ID, Name: g.Name, Description: g.Description}
	}
	return out
}

func gdapOrg(t *testing.T) simseed.Org {
	for _, o := range simseed.Orgs {
		if o.InGDAP && o.Name == "Woodgrove Bank" {
			return o
		}
	}
	t.Fatal("no Woodgrove")
	return simseed.Org{}
}

func TestOnboardingByTemplateAgainstTheSimulator(t *testing.T) {
	sim, rec, base := start(t, gdapsim.Options{})
	c := newClient(t, staticConfig(base))
	ctx := context.Background()

	tpl, err := c.PublishTemplate(ctx, TemplateRequest{Name: "Helpdesk", Roles: roles(2), Duration: "P2Y"})
	if err != nil {
		t.Fatal(err)
	}
	if !upstream.IsGUID(tpl.TemplateID) || !strings.Contains(tpl.Message, tpl.TemplateID) {
		t.Fatalf("template %+v", tpl)
	}
	var body map[string]any
	_ = json.Unmarshal([]byte(rec.requests("/api/PublishTemplate")[0].Body), &body)
	if body["PartnerId"] != simseed.PartnerTenantID || body["TemplateId"] != nil || body["Duration"] != "P2Y" || len(body["AppliedRoles"].([]any)) != 2 {
		t.Errorf("PublishTemplate body %v", body)
	}

	owner := "11111111-2222-4333-8444-555555555555"
	groups, err := c.CreateSecurityGroups(ctx, tpl.TemplateID, owner)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups.Groups) != 2 || !groups.Groups[0].Succeeded || !upstream.IsGUID(groups.Groups[0].GroupID) {
		t.Fatalf("groups %+v", groups)
	}
	q := rec.requests("/api/CreateSecurityGroupsByTemplate")[0].Query
	if q.Get("providerId") != simseed.PartnerTenantID || q.Get("templateId") != tpl.TemplateID || q.Get("userId") != owner {
		t.Errorf("query %v", q)
	}

	org := gdapOrg(t)
	mig, err := c.MigrateCustomer(ctx, tpl.TemplateID, org.TenantID, "P1Y")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mig.AssignedRoleIDs, []string{simseed.GDAPRoles[0].ID, simseed.GDAPRoles[1].ID}) || len(mig.Messages) != 2 {
		t.Fatalf("migration %+v", mig)
	}
	if st, ok := sim.RelationshipStatus(org.TenantID); !ok || st != "active" {
		t.Errorf("relationship after migration: %q %v", st, ok)
	}
}

func TestOnboardingVendorRefusals(t *testing.T) {
	_, _, base := start(t, gdapsim.Options{})
	c := newClient(t, staticConfig(base))
	ctx := context.Background()
	// A role id that is not an Entra role: 400 with the vendor's text.
	_, err := c.PublishTemplate(ctx, TemplateRequest{Name: "x", Roles: []model.Role{{ID: "00000000-0000-4000-8000-000000000000"}}, Duration: "P1Y"})
	if e := upstreamError(t, err); e.Status != http.StatusBadRequest || !errors.Is(err, upstream.ErrRejected) || !strings.Contains(e.Message, "not a valid") {
		t.Errorf("bad role: %v", err)
	}
	// Migrating before the security groups exist.
	tpl, err := c.PublishTemplate(ctx, TemplateRequest{Name: "x", Roles: roles(1), Duration: "P1Y"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.MigrateCustomer(ctx, tpl.TemplateID, gdapOrg(t).TenantID, "P1Y"); !errors.Is(err, upstream.ErrRejected) {
		t.Errorf("migration without groups: %v", err)
	}
}

func TestExpressTransitionUsesTheSlowTimeout(t *testing.T) {
	sim, rec, base := start(t, gdapsim.Options{})
	c := newClient(t, staticConfig(base)) // per-attempt timeout 2 s
	sim.SetTransitionDelay(2500 * time.Millisecond)
	c.SetSlowTimeout(30 * time.Second)
	org := gdapOrg(t)
	res, err := c.ExpressTransition(context.Background(), ExpressRequest{CustomerTenantID: org.TenantID, Roles: roles(1), Duration: "P90D"})
	if err != nil {
		t.Fatalf("a transition slower than the ordinary timeout failed: %v", err)
	}
	if len(res.AssignedRoleIDs) != 1 {
		t.Errorf("result %+v", res)
	}
	var body map[string]any
	_ = json.Unmarshal([]byte(rec.requests("/api/ExpressTransition")[0].Body), &body)
	if body["CustomerTenantId"] != org.TenantID || body["Duration"] != "P90D" {
		t.Errorf("body %v", body)
	}
	// Ordinary calls keep the ordinary timeout.
	c.SetSlowTimeout(500 * time.Millisecond)
	_, err = c.ExpressTransition(context.Background(), ExpressRequest{CustomerTenantID: org.TenantID, Roles: roles(1), Duration: "P90D"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the slow timeout to apply", err)
	}
}

func TestEnvelopeMessageStringOrArray(t *testing.T) {
	for _, tc := range []struct {
		body string
		want []string
	}{
		{`{"Result":"Accepted","Message":"one"}`, []string{"one"}},
		{`{"result":"Accepted","message":["a","b"]}`, []string{"a", "b"}},
		{`{"Result":"Accepted","Message":null}`, nil},
		{`{"Result":"Accepted"}`, nil},
	} {
		env, err := decodeEnvelope(strings.NewReader(tc.body))
		if err != nil || !slices.Equal(env.messages, tc.want) {
			t.Errorf("%s: %v %v, want %v", tc.body, env.messages, err, tc.want)
		}
	}
	if _, err := decodeEnvelope(strings.NewReader(`{"Result":"Rejected","Message":["no"]}`)); !errors.Is(err, upstream.ErrRejected) {
		t.Errorf("Rejected: %v", err)
	}
}

func TestPublishTemplateIDFromAnyWording(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Another wording (spelled correctly, id mid-sentence, upper case).
		_, _ = w.Write([]byte(`{"Result":"Accepted","Message":["Template verified.","Id 2D4DC098-A298-46EC-8A93-C969477A693D created"]}`))
	}))
	t.Cleanup(ts.Close)
	c := newClient(t, staticConfig(ts.URL+"/api/"))
	tpl, err := c.PublishTemplate(context.Background(), TemplateRequest{Name: "x", Roles: roles(1), Duration: "P1Y"})
	if err != nil || tpl.TemplateID != "2d4dc098-a298-46ec-8a93-c969477a693d" {
		t.Fatalf("%+v %v", tpl, err)
	}
}

func TestRelationshipsVariants(t *testing.T) {
	for _, variant := range []string{gdapsim.RelationshipsGraph, gdapsim.RelationshipsValue} {
		t.Run(variant, func(t *testing.T) {
			_, _, base := start(t, gdapsim.Options{Relationships: variant})
			rels, err := newClient(t, staticConfig(base)).Relationships(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			byStatus := map[string]model.GDAPRelationship{}
			for _, r := range rels {
				byStatus[r.Status] = r
			}
			a, ok := byStatus[model.RelationshipActive]
			if !ok || a.CustomerTenantID != simseed.Orgs[0].TenantID || len(a.RoleIDs) != 1 || a.EndsAt == nil || a.Duration != "P730D" {
				t.Errorf("active relationship %+v", a)
			}
			if p, ok := byStatus[model.RelationshipApprovalPending]; !ok || p.EndsAt != nil {
				t.Errorf("pending relationship %+v", p)
			}
		})
	}
	_, _, base := start(t, gdapsim.Options{})
	_, err := newClient(t, staticConfig(base)).Relationships(context.Background())
	if !errors.Is(err, ErrNoRelationshipRoute) {
		t.Errorf("no route: %v", err)
	}
}

func TestRelationshipsDecodesTableEntities(t *testing.T) {
	got, err := decodeRelationships(strings.NewReader(`[{"RowKey":"r1","Status":"terminationRequested","CustomerTenantId":"ABC","PartitionKey":"p","ETag":{}}]`))
	if err != nil || len(got) != 1 || got[0].ID != "r1" || got[0].Status != model.RelationshipTerminationRequested || got[0].CustomerTenantID != "abc" {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := decodeRelationships(strings.NewReader(`{"a":[],"b":[]}`)); !errors.Is(err, upstream.ErrMalformed) {
		t.Errorf("two lists: %v", err)
	}
}
