package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/partnerhub/gateway/internal/upstream/simfault"
	"github.com/partnerhub/gateway/internal/upstream/simseed"
)

type licenseList struct {
	Items []struct {
		Company string `json:"company"`
		User    string `json:"user"`
	} `json:"items"`
	Quota *struct {
		AnnualQuota int `json:"annual_quota"`
		Active      int `json:"active"`
	} `json:"quota"`
	sourced
}

type licenseCheck struct {
	Company  string `json:"company"`
	User     string `json:"user"`
	Licensed bool   `json:"licensed"`
	sourced
}

func licensePath(company, user string) string {
	return "/v1/licenses/" + url.PathEscape(company) + "/" + url.PathEscape(user)
}

func startLicenseGateway(t *testing.T, env ...string) (*vendorSims, *gateway, *client) {
	t.Helper()
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env(env...))
	return sims, gw, newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-operator"))
}

func TestLicenseLifecycle(t *testing.T) {
	_, gw, c := startLicenseGateway(t)
	var all licenseList
	c.do("GET", "/v1/licenses", "").JSON(t, &all)
	if len(all.Items) != len(simseed.LicensedUsers) || all.Quota == nil || all.Quota.AnnualQuota != simseed.DBSyncAnnualQuota {
		t.Fatalf("list: %+v", all)
	}
	var contoso licenseList
	c.do("GET", "/v1/licenses?company="+url.QueryEscape("Contoso AB")+"&user=PER.EK@contoso.se", "").JSON(t, &contoso)
	if len(contoso.Items) != 1 || contoso.Items[0].User != "per.ek@contoso.se" {
		t.Fatalf("filtered: %+v", contoso.Items)
	}

	const company, user = "Litware Inc", "sam.carter@litware.com"
	body := fmt.Sprintf(`{"company":%q,"user":%q}`, company, user)
	r := c.do("POST", "/v1/licenses", body)
	var registered struct {
		ID string `json:"id"`
	}
	r.JSON(t, &registered)
	// The licence lives at its stable id (DBSync's user id).
	if r.Status != 201 || registered.ID == "" || r.Header.Get("Location") != "/v1/licenses/"+registered.ID {
		t.Fatalf("register: %d %s %v", r.Status, r.Body, r.Header)
	}
	for _, path := range []string{r.Header.Get("Location"), licensePath(company, user)} {
		var check licenseCheck
		c.do("GET", path, "").JSON(t, &check)
		if !check.Licensed || check.Company != company || check.User != user || !check.Complete {
			t.Fatalf("check %s after register: %+v", path, check)
		}
	}
	p := expectProblem(t, c.do("POST", "/v1/licenses", body), 409)
	if p.Detail == "" || !strings.HasSuffix(p.Type, "/already-registered") {
		t.Fatalf("second register: %+v, want already-registered", p)
	}
	if r := c.do("DELETE", "/v1/licenses/"+registered.ID, ""); r.Status != 200 {
		t.Fatalf("unregister: %d %s", r.Status, r.Body)
	}
	expectProblem(t, c.do("DELETE", licensePath(company, user), ""), 404)
	expectProblem(t, c.do("DELETE", "/v1/licenses/"+registered.ID, ""), 404)
	log := gw.Stderr.String()
	for _, op := range []string{"licenses.register", "licenses.unregister"} {
		if !strings.Contains(log, `"operation":"`+op+`"`) {
			t.Errorf("no write log for %s", op)
		}
	}
}

func TestLicenseQuotaExhausted(t *testing.T) {
	_, _, c := startLicenseGateway(t)
	var last response
	for i := 0; i < simseed.DBSyncAnnualQuota+1; i++ {
		last = c.do("POST", "/v1/licenses", fmt.Sprintf(`{"company":"Quota Co","user":"u%d@quota.example"}`, i))
		if last.Status != 201 {
			break
		}
	}
	p := expectProblem(t, last, 422)
	var quota struct {
		Quota *struct {
			AnnualQuota int `json:"annual_quota"`
			Used        int `json:"used"`
		} `json:"quota"`
	}
	last.JSON(t, &quota)
	if !strings.HasSuffix(p.Type, "/license-quota-exhausted") || quota.Quota == nil ||
		quota.Quota.AnnualQuota != simseed.DBSyncAnnualQuota || quota.Quota.Used != simseed.DBSyncAnnualQuota {
		t.Fatalf("over quota: %s, want license-quota-exhausted with the usage", last.Body)
	}
}

func TestLicenseVendorFailures(t *testing.T) {
	t.Run("gateway key rejected is 502", func(t *testing.T) {
		_, _, c := startLicenseGateway(t, "GATEWAY_DBSYNC_APP_KEY", "wrong-key")
		expectProblem(t, c.do("GET", "/v1/licenses", ""), 502)
		expectProblem(t, c.do("POST", "/v1/licenses", `{"company":"Litware Inc","user":"sam.carter@litware.com"}`), 502)
	})
	t.Run("vendor down", func(t *testing.T) {
		sims, _, c := startLicenseGateway(t)
		sims.DBSync.Faults.Set(simfault.Fault{Status: 500})
		expectProblem(t, c.do("GET", licensePath("Contoso AB", "per.ek@contoso.se"), ""), 502)
	})
	t.Run("unknown user check is 404", func(t *testing.T) {
		_, _, c := startLicenseGateway(t)
		expectProblem(t, c.do("GET", licensePath("Contoso AB", "nobody@contoso.se"), ""), 404)
	})
}

func TestLicenseDeleteIdempotency(t *testing.T) {
	sims, _, c := startLicenseGateway(t)
	path := licensePath("Contoso AB", "per.ek@contoso.se")
	first := c.do("DELETE", path, "", "Idempotency-Key", "del-1")
	if first.Status != 200 {
		t.Fatalf("status %d: %s", first.Status, first.Body)
	}
	calls := sims.DBSync.Faults.TotalCalls()
	again := c.do("DELETE", path, "", "Idempotency-Key", "del-1")
	if again.Status != 200 || string(again.Body) != string(first.Body) {
		t.Fatalf("replay %d %s", again.Status, again.Body)
	}
	if n := sims.DBSync.Faults.TotalCalls(); n != calls {
		t.Fatalf("replay reached dbsync")
	}
	// The same key on another request is refused.
	expectProblem(t, c.do("DELETE", licensePath("Contoso AB", "anna.lindqvist@contoso.se"), "", "Idempotency-Key", "del-1"), 422)
}
