package crayon

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/partnerhub/gateway/internal/upstream"
	"github.com/partnerhub/gateway/internal/upstream/crayon/crayonsim"
	"github.com/partnerhub/gateway/internal/upstream/simfault"
)

// TestClientAgainstEverySimulatorVariant runs the client against each
// plausible Crayon the simulator can play (docs/vendors.md): the answers
// must be the same records, never fewer, whatever the page cap, member
// order, extra fields, GUID case or 401 body.
func TestClientAgainstEverySimulatorVariant(t *testing.T) {
	ctx := context.Background()
	plain, _ := setup(t, crayonsim.Options{}, nil)
	want, err := plain.AllTenants(ctx, TenantFilter{})
	if err != nil || len(want) != crayonsim.SeedTenantCount {
		t.Fatalf("baseline: %d tenants, %v", len(want), err)
	}
	for _, v := range []struct {
		name  string
		opts  crayonsim.Options
		shape simfault.Shape
	}{
		{name: "page size capped at 3", opts: crayonsim.Options{PageSizeCap: 3}},
		{name: "page size capped at 7", opts: crayonsim.Options{PageSizeCap: 7}},
		{name: "capped at 7, placed by the size asked", opts: crayonsim.Options{PageSizeCap: 7, CapAfterOffset: true}},
		{name: "unknown fields", shape: simfault.Shape{UnknownFields: true}},
		{name: "upper-case GUIDs", shape: simfault.Shape{UpperGUIDs: true}},
		{name: "members reversed", shape: simfault.Shape{Reorder: true}},
		{name: "empty 401 body", shape: simfault.Shape{Unauthorized: "empty"}},
		{name: "all at once", opts: crayonsim.Options{PageSizeCap: 5}, shape: simfault.Shape{UnknownFields: true, UpperGUIDs: true, Reorder: true, Unauthorized: "null"}},
	} {
		t.Run(v.name, func(t *testing.T) {
			c, sim := setup(t, v.opts, nil)
			sim.Faults.SetShape(v.shape)
			got, err := c.AllTenants(ctx, TenantFilter{})
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("AllTenants: %d tenants, %v; want the %d of the plain simulator", len(got), err, len(want))
			}
			one, err := c.Tenant(ctx, want[0].ID)
			if err != nil || !reflect.DeepEqual(one, want[0]) {
				t.Fatalf("Tenant: %+v, %v", one, err)
			}
			if ags, err := c.Agreements(ctx, want[0].ID); err != nil || len(ags) != 1 || ags[0].Type == AgreementTypeUnknown {
				t.Fatalf("Agreements: %+v, %v", ags, err)
			}
			sim.ExpireTokens() // a 401 in this variant's shape, then a fresh token
			if _, err := c.Tenant(ctx, want[0].ID); err != nil {
				t.Fatalf("after the token was dropped: %v", err)
			}
			sim.Faults.Set(simfault.Fault{Status: http.StatusUnauthorized, PathContains: "customertenants"})
			if _, err := c.Tenant(ctx, want[0].ID); !errors.Is(err, upstream.ErrCredentials) {
				t.Fatalf("persistent 401: %v, want ErrCredentials", err)
			}
		})
	}
}
