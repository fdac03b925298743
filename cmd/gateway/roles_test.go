package main

import (
	"testing"

	"github.com/partnerhub/gateway/internal/upstream/simfault"
	"github.com/partnerhub/gateway/internal/upstream/simseed"
)

func TestListRoles(t *testing.T) {
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env())
	c := newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-reader"))

	var list struct {
		Items []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"items"`
		sourced
	}
	r := c.do("GET", "/v1/roles", "")
	r.JSON(t, &list)
	if r.Status != 200 || len(list.Items) != len(simseed.GDAPRoles) || list.status("gdap") != "ok" || !list.Complete {
		t.Fatalf("status %d body %s", r.Status, r.Body)
	}
	before := sims.GDAP.Faults.TotalCalls()
	if p := expectProblem(t, c.do("GET", "/v1/roles?x=1", ""), 400); p.Errors[0].Location != "query.x" {
		t.Fatalf("errors %+v", p.Errors)
	}
	if sims.GDAP.Faults.TotalCalls() != before {
		t.Fatal("bad input reached GDAP")
	}
	sims.GDAP.Faults.Set(simfault.Fault{Status: 500})
	expectProblem(t, c.do("GET", "/v1/roles", ""), 502)
	expectProblem(t, c.withToken("").do("GET", "/v1/roles", ""), 401)
}
