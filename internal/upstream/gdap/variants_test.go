package gdap

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/partnerhub/gateway/internal/upstream"
	"github.com/partnerhub/gateway/internal/upstream/gdap/gdapsim"
	"github.com/partnerhub/gateway/internal/upstream/simfault"
)

// TestClientAgainstEverySimulatorVariant runs the client against each
// plausible GDAP deployment the simulator can play (docs/vendors.md): the
// same customers and roles whatever the route name, member order, extra
// fields, GUID case or 401 body.
func TestClientAgainstEverySimulatorVariant(t *testing.T) {
	ctx := context.Background()
	want := seededCustomers()
	for _, v := range []struct {
		name      string
		opts      gdapsim.Options
		shape     simfault.Shape
		wantRoute string
	}{
		{name: "both routes", wantRoute: "/api/Customers"},
		{name: "only Customers", opts: gdapsim.Options{DisableListCustomersRoute: true}, wantRoute: "/api/Customers"},
		{name: "only ListCustomers", opts: gdapsim.Options{DisableCustomersRoute: true}, wantRoute: "/api/ListCustomers"},
		{name: "unknown fields", shape: simfault.Shape{UnknownFields: true}, wantRoute: "/api/Customers"},
		{name: "upper-case GUIDs", shape: simfault.Shape{UpperGUIDs: true}, wantRoute: "/api/Customers"},
		{name: "members reversed", shape: simfault.Shape{Reorder: true}, wantRoute: "/api/Customers"},
		{name: "empty 401 body", shape: simfault.Shape{Unauthorized: "empty"}, wantRoute: "/api/Customers"},
		{name: "all at once", opts: gdapsim.Options{DisableCustomersRoute: true},
			shape: simfault.Shape{UnknownFields: true, UpperGUIDs: true, Reorder: true, Unauthorized: "empty"}, wantRoute: "/api/ListCustomers"},
	} {
		t.Run(v.name, func(t *testing.T) {
			sim, _, base := start(t, v.opts)
			sim.Faults.SetShape(v.shape)
			c := newClient(t, credsConfig(base))
			for range 2 { // the second call goes straight to the route that worked
				got, err := c.ListCustomers(ctx)
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Fatalf("ListCustomers: %+v, %v; want %+v", got, err, want)
				}
			}
			if other := map[string]string{"/api/Customers": "/api/ListCustomers", "/api/ListCustomers": "/api/Customers"}[v.wantRoute]; sim.Faults.Calls(http.MethodGet, v.wantRoute) != 2 || sim.Faults.Calls(http.MethodGet, other) > 1 {
				t.Errorf("route calls: %s %d, %s %d; want the working route remembered", v.wantRoute, sim.Faults.Calls(http.MethodGet, v.wantRoute), other, sim.Faults.Calls(http.MethodGet, other))
			}
			if roles, err := c.AvailableRoles(ctx); err != nil || len(roles) == 0 || roles[0].ID != lowerTrim(roles[0].ID) {
				t.Fatalf("AvailableRoles: %+v, %v", roles, err)
			}
			sim.RevokeTokens()
			if _, err := c.ListCustomers(ctx); err != nil {
				t.Fatalf("after the token was revoked: %v", err)
			}
			sim.Faults.Set(simfault.Fault{Status: http.StatusUnauthorized})
			if _, err := c.AvailableRoles(ctx); !errors.Is(err, upstream.ErrCredentials) {
				t.Fatalf("persistent 401: %v, want ErrCredentials", err)
			}
		})
	}
}
