package main

import (
	"strings"
	"testing"

	"github.com/partnerhub/gateway/internal/upstream/dbsync/dbsyncsim"
)

// A licence that exists but has expired is a verdict (200, licensed false,
// a reason), whichever way DBSync says so.
func TestExpiredLicenceIsAVerdict(t *testing.T) {
	for name, v := range map[string]dbsyncsim.Variant{
		"false flag":          {},
		"expiry date":         {ExpiryField: "expiryDate"},
		"expiry errorMessage": {AltMessages: true},
	} {
		t.Run(name, func(t *testing.T) {
			sims, c := startGatewayWith(t, simOptions{DBSync: dbsyncsim.Options{Variant: v}})
			sims.DBSync.ExpireLicense("per.ek@contoso.se")
			r := c.do("GET", licensePath("Contoso AB", "per.ek@contoso.se"), "")
			if r.Status != 200 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			var chk struct {
				licenseCheck
				Reason string `json:"reason"`
			}
			r.JSON(t, &chk)
			if chk.Licensed || chk.Reason == "" || !chk.Complete {
				t.Fatalf("check: %s", r.Body)
			}
		})
	}
}

// DBSync refusing the gateway's own app key or token (in the body of a 200)
// is the gateway's misconfiguration: 502 naming it, never the caller's 422,
// and an error in the log.
func TestDBSyncRejectingTheGatewaysKeyIs502(t *testing.T) {
	for name, v := range map[string]dbsyncsim.Variant{"default": {}, "alt messages": {AltMessages: true}} {
		t.Run(name, func(t *testing.T) {
			sims := newVendorSimsWith(t, simOptions{DBSync: dbsyncsim.Options{Variant: v}})
			gw := startRun(t, nil, sims.Env("GATEWAY_DBSYNC_APP_KEY", "not-the-key"))
			c := newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-operator"))
			p := expectProblem(t, c.do("GET", licensePath("Contoso AB", "per.ek@contoso.se"), ""), 502)
			if p.Detail != "the gateway's credentials for dbsync were rejected" {
				t.Errorf("detail %q", p.Detail)
			}
			if log := gw.Stderr.String(); !strings.Contains(log, `"level":"ERROR","msg":"vendor rejected the gateway's credentials"`) || strings.Contains(log, "not-the-key") {
				t.Errorf("log does not report the credentials at error level, or leaks the key:\n%s", log)
			}
		})
	}
}
