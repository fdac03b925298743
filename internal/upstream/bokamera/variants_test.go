package bokamera

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/upstream"
	"github.com/partnerhub/gateway/internal/upstream/bokamera/bokamerasim"
	"github.com/partnerhub/gateway/internal/upstream/simfault"
)

// TestClientAgainstEverySimulatorVariant runs the client against each
// plausible BokaMera the simulator can play (docs/vendors.md): the same
// customers and sync jobs, with the same instants, whatever the Take cap,
// date zone, member order, extra fields, GUID case or 401 body.
func TestClientAgainstEverySimulatorVariant(t *testing.T) {
	ctx := context.Background()
	plain, _, _ := setup(t, bokamerasim.Options{}, nil)
	want, err := plain.AllCustomers(ctx, "")
	if err != nil || len(want) < 3 {
		t.Fatalf("baseline: %+v, %v", want, err)
	}
	for _, v := range []struct {
		name  string
		opts  bokamerasim.Options
		shape simfault.Shape
	}{
		{name: "Take capped at 2", opts: bokamerasim.Options{MaxTake: 2}},
		{name: "dates in UTC with Z", opts: bokamerasim.Options{DateZone: "Z"}},
		{name: "dates with an offset", opts: bokamerasim.Options{DateZone: "+01:00"}},
		{name: "unknown fields", shape: simfault.Shape{UnknownFields: true}},
		{name: "upper-case GUIDs", shape: simfault.Shape{UpperGUIDs: true}},
		{name: "members reversed", shape: simfault.Shape{Reorder: true}},
		{name: "empty 401 body", shape: simfault.Shape{Unauthorized: "empty"}},
		{name: "all at once", opts: bokamerasim.Options{MaxTake: 2, DateZone: "-05:00"},
			shape: simfault.Shape{UnknownFields: true, UpperGUIDs: true, Reorder: true, Unauthorized: "null"}},
	} {
		t.Run(v.name, func(t *testing.T) {
			v.opts.SyncStepDuration = time.Minute
			c, sim, clk := setup(t, v.opts, nil)
			sim.Faults.SetShape(v.shape)
			got, err := c.AllCustomers(ctx, "")
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("AllCustomers: %+v, %v; want %+v", got, err, want)
			}
			one, err := c.Customer(ctx, want[len(want)-1].ID)
			if err != nil || !reflect.DeepEqual(one, want[len(want)-1]) {
				t.Fatalf("Customer: %+v, %v", one, err)
			}
			started := clk.Now()
			job, err := c.StartUserSync(ctx, "")
			if err != nil || !job.CreatedAt.Equal(started) {
				t.Fatalf("StartUserSync: %+v, %v; want created at %v", job, err, started)
			}
			again, err := c.UserSyncJob(ctx, job.VendorJobID, "")
			if err != nil || again.VendorJobID != job.VendorJobID || !again.CreatedAt.Equal(started) {
				t.Fatalf("UserSyncJob: %+v, %v", again, err)
			}
			sim.RevokeSessions()
			if _, err := c.UserSyncJobs(ctx, ""); err != nil {
				t.Fatalf("after the session was revoked: %v", err)
			}
			sim.Faults.Set(simfault.Fault{Status: http.StatusUnauthorized, PathContains: "/codelock"})
			if _, err := c.UserSyncJobs(ctx, ""); !errors.Is(err, upstream.ErrCredentials) {
				t.Fatalf("persistent 401: %v, want ErrCredentials", err)
			}
		})
	}
}
