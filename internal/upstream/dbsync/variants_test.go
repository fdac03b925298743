package dbsync

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream"
	"github.com/partnerhub/gateway/internal/upstream/dbsync/dbsyncsim"
	"github.com/partnerhub/gateway/internal/upstream/simfault"
	"github.com/partnerhub/gateway/internal/upstream/simtest"
)

// variants are the readings of DBSync's undocumented parts the simulator
// can play (docs/vendors.md); the client must behave the same on each.
var variants = map[string]dbsyncsim.Variant{
	"default":           {},
	"alt messages":      {AltMessages: true},
	"validLicense flag": {ValidityField: "validLicense", ExpiryField: "expiryDate"},
	"authenticated":     {ValidityField: "authenticated"},
	"alt quota":         {AltQuota: true, ExpiryField: "validUntil"},
	"PascalCase keys":   {PascalKeys: true, AltQuota: true, ValidityField: "isLicensed"},
}

func TestClientAgainstEverySimulatorVariant(t *testing.T) {
	for name, v := range variants {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c, sim := newClient(t, dbsyncsim.Options{AnnualQuota: 100, Variant: v})

			l, err := c.RegisterUser(ctx, "Variant AB", "v.user")
			if err != nil || l.UserID == "" || l.User != "v.user" {
				t.Fatalf("register: %+v, %v", l, err)
			}
			if _, err := c.RegisterUser(ctx, "Variant AB", "v.user"); !errors.Is(err, upstream.ErrConflict) {
				t.Errorf("second register: %v, want ErrConflict", err)
			}
			chk, err := c.AuthenticateUser(ctx, "Variant AB", "v.user")
			if err != nil || !chk.Licensed || chk.Reason != "" {
				t.Errorf("check: %+v, %v; want licensed", chk, err)
			}
			sim.ExpireLicense("v.user")
			chk, err = c.AuthenticateUser(ctx, "Variant AB", "v.user")
			if err != nil || chk.Licensed || !strings.Contains(strings.ToLower(chk.Reason), "expired") && !strings.Contains(chk.Reason, "no valid licence") {
				t.Errorf("check after expiry: %+v, %v; want licensed false with a reason", chk, err)
			}
			if _, err := c.AuthenticateUser(ctx, "Variant AB", "nobody"); !errors.Is(err, upstream.ErrNotFound) {
				t.Errorf("unknown user: %v, want ErrNotFound", err)
			}
			d, err := c.LicenseDetails(ctx, "Variant AB")
			if err != nil || len(d.Users) != 1 || d.Quota == nil || d.Quota.AnnualQuota != 100 || d.Quota.Used == 0 {
				t.Errorf("details: %+v (quota %+v), %v", d.Users, d.Quota, err)
			}

			_, base := simtest.DBSync(t, dbsyncsim.Options{Variant: v})
			bad, err := New(newUp(t), Config{BaseURL: base, AppKey: "wrong", AppToken: "wrong"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := bad.AuthenticateUser(ctx, "Variant AB", "v.user"); !errors.Is(err, upstream.ErrCredentials) {
				t.Errorf("wrong app key: %v, want ErrCredentials", err)
			}
		})
	}
}

func TestQuotaExhaustedUnderEveryVariant(t *testing.T) {
	for name, v := range variants {
		t.Run(name, func(t *testing.T) {
			c, _ := newClient(t, dbsyncsim.Options{AnnualQuota: 1, Variant: v}) // the seed already used it
			_, err := c.RegisterUser(context.Background(), "Variant AB", "one.more")
			var e *upstream.Error
			if !errors.As(err, &e) || !errors.Is(err, upstream.ErrRejected) || e.Code != "quota_exhausted" {
				t.Errorf("register over quota: %v, want quota_exhausted", err)
			}
			// The licence manager says why, with the usage licenseDetails
			// reports, and a second registration says the user is known.
			m := Manager{C: c}
			_, err = m.Register(context.Background(), "Variant AB", "one.more")
			var qe *model.QuotaExhaustedError
			if !errors.As(err, &qe) || qe.Quota == nil || qe.Quota.AnnualQuota != 1 || qe.Quota.Used < 1 || !errors.As(err, &e) {
				t.Errorf("Manager.Register over quota: %v (%+v), want a QuotaExhaustedError with the usage", err, qe)
			}
			if _, err := m.Register(context.Background(), "Contoso AB", "per.ek@contoso.se"); !errors.Is(err, model.ErrAlreadyRegistered) || !errors.Is(err, upstream.ErrConflict) {
				t.Errorf("Manager.Register of a seeded user: %v, want ErrAlreadyRegistered", err)
			}
		})
	}
}

// The simulators' common wire-shape variants (extra members, reversed
// member order) change nothing either.
func TestClientWithReshapedAnswers(t *testing.T) {
	ctx := context.Background()
	c, sim := newClient(t, dbsyncsim.Options{AnnualQuota: 100, Variant: dbsyncsim.Variant{ValidityField: "validLicense"}})
	sim.Faults.SetShape(simfault.Shape{UnknownFields: true, Reorder: true})
	if l, err := c.RegisterUser(ctx, "Shape AB", "s.user"); err != nil || l.UserID == "" {
		t.Fatalf("register: %+v, %v", l, err)
	}
	if chk, err := c.AuthenticateUser(ctx, "Shape AB", "s.user"); err != nil || !chk.Licensed {
		t.Fatalf("check: %+v, %v", chk, err)
	}
	if d, err := c.LicenseDetails(ctx, "Shape AB"); err != nil || len(d.Users) != 1 || d.Quota == nil || d.Quota.AnnualQuota != 100 {
		t.Fatalf("details: %+v, %v", d, err)
	}
}
