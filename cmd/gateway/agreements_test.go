package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/upstream/crayon/crayonsim"
	"github.com/partnerhub/gateway/internal/upstream/simfault"
)

type agreementList struct {
	Items []struct {
		AgreementType string `json:"agreement_type"`
		Email         string `json:"email"`
		AgreedAt      string `json:"agreed_at"`
	} `json:"items"`
	sourced
}

const validAgreement = `{"agreement_type":"microsoft_customer_agreement","first_name":"Per","last_name":"Ek",
 "email":"per.ek@contoso.se","phone_number":"+46 8 555 010 21","agreed_at":"2026-01-15T10:00:00Z"}`

func startAgreementGateway(t *testing.T) (*vendorSims, *gateway, *client) {
	t.Helper()
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env())
	return sims, gw, newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-operator"))
}

func TestAgreementsConsentIsVisibleAfterwards(t *testing.T) {
	_, gw, c := startAgreementGateway(t)
	path := fmt.Sprintf("/v1/tenants/%d/agreements", crayonsim.FirstTenantID+1)
	var before agreementList
	c.do("GET", path, "").JSON(t, &before)
	if len(before.Items) != 0 || before.status("crayon") != "ok" {
		t.Fatalf("before: %+v", before)
	}
	r := c.do("POST", path, validAgreement)
	if r.Status != 201 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	var after agreementList
	c.do("GET", path, "").JSON(t, &after)
	if len(after.Items) != 1 || after.Items[0].AgreementType != "microsoft_customer_agreement" || after.Items[0].Email != "per.ek@contoso.se" {
		t.Fatalf("after: %+v", after)
	}
	// The consent lives at its own address, under the id the list shows.
	var one struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	}
	loc := r.Header.Get("Location")
	if got := c.do("GET", loc, ""); got.Status != 200 {
		t.Fatalf("GET %s: %d %s", loc, got.Status, got.Body)
	} else if got.JSON(t, &one); one.Email != "per.ek@contoso.se" || !strings.HasSuffix(loc, "/agreements/"+one.ID) || !strings.Contains(string(c.do("GET", path, "").Body), `"id":"`+one.ID+`"`) {
		t.Fatalf("GET %s: %+v", loc, one)
	}
	// The write is logged with who and what, never the token.
	log := gw.Stderr.String()
	if !strings.Contains(log, `"operation":"agreements.add"`) || !strings.Contains(log, `"vendor_outcome":"ok"`) || strings.Contains(log, c.token) {
		t.Fatalf("write log missing or leaking:\n%s", log)
	}
}

func TestAgreementVendorFailures(t *testing.T) {
	sims, _, c := startAgreementGateway(t)
	expectProblem(t, c.do("POST", "/v1/tenants/999999/agreements", validAgreement), 404)
	expectProblem(t, c.do("GET", "/v1/tenants/999999/agreements", ""), 404)
	sims.Crayon.Faults.Set(simfault.Fault{Status: 500})
	expectProblem(t, c.do("POST", fmt.Sprintf("/v1/tenants/%d/agreements", crayonsim.FirstTenantID), validAgreement), 502)
}

func TestAgreementIdempotency(t *testing.T) {
	sims, _, c := startAgreementGateway(t)
	path := fmt.Sprintf("/v1/tenants/%d/agreements", crayonsim.FirstTenantID+2)
	first := c.do("POST", path, validAgreement, "Idempotency-Key", "k-1")
	if first.Status != 201 {
		t.Fatalf("status %d: %s", first.Status, first.Body)
	}
	again := c.do("POST", path, validAgreement, "Idempotency-Key", "k-1")
	if again.Status != 201 || string(again.Body) != string(first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s %v", again.Status, again.Body, again.Header)
	}
	if n := sims.Crayon.Faults.Calls("POST", fmt.Sprintf("/api/v1/customertenants/%d/agreements", crayonsim.FirstTenantID+2)); n != 1 {
		t.Fatalf("crayon saw %d POSTs, want 1", n)
	}
	other := strings.Replace(validAgreement, "Per", "Pia", 1)
	expectProblem(t, c.do("POST", path, other, "Idempotency-Key", "k-1"), 422)
	expectProblem(t, c.do("POST", path, validAgreement, "Idempotency-Key", "bad key"), 400)
	// Another caller's identical key is its own.
	admin := c.withToken(fetchToken(t, sims.Issuer.URL(), "dev-admin"))
	if r := admin.do("POST", path, validAgreement, "Idempotency-Key", "k-1"); r.Status != 201 || r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("other caller: %d %v", r.Status, r.Header)
	}

	t.Run("concurrent duplicate is 409", func(t *testing.T) {
		sims.Crayon.Faults.Set(simfault.Fault{LatencyMS: 800})
		defer sims.Crayon.Faults.Clear()
		statuses := make([]int, 2)
		before := sims.Crayon.Faults.TotalCalls()
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[0] = c.do("POST", path, validAgreement, "Idempotency-Key", "k-2").Status
		}()
		// Once Crayon sees the first request, its key is taken: the
		// idempotency check runs before the handler calls the vendor.
		waitFor(t, 5*time.Second, "the first request reaching Crayon", func() bool { return sims.Crayon.Faults.TotalCalls() != before })
		statuses[1] = c.do("POST", path, validAgreement, "Idempotency-Key", "k-2").Status
		wg.Wait()
		if statuses[0] != 201 || statuses[1] != 409 {
			t.Fatalf("statuses %v, want [201 409]", statuses)
		}
	})
}
