package bokamera

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/partnerhub/gateway/internal/upstream"
	"github.com/partnerhub/gateway/internal/upstream/bokamera/bokamerasim"
	"github.com/partnerhub/gateway/internal/upstream/simseed"
)

func TestCustomerByID(t *testing.T) {
	c, sim, _ := setup(t, bokamerasim.Options{}, nil)
	ctx := context.Background()
	want := simseed.BookingCustomers[3]

	got, err := c.Customer(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != want.ID || got.Email != want.Email {
		t.Fatalf("got %+v, want customer %s", got, want.ID)
	}
	reqs := sim.Requests()
	if q := reqs[len(reqs)-1].Query; q.Get("CustomerId") != want.ID {
		t.Fatalf("lookup did not filter by CustomerId: %v", q)
	}

	_, err = c.Customer(ctx, "00000000-0000-4000-8000-00000000abcd")
	_ = vendorErr(t, err, upstream.ErrNotFound, http.StatusNotFound, "")

	before := len(sim.Requests())
	_, err = c.Customer(ctx, "not-a-guid")
	_ = vendorErr(t, err, upstream.ErrNotFound, http.StatusNotFound, "")
	if len(sim.Requests()) != before {
		t.Fatal("a malformed id reached BokaMera")
	}
}

// The CustomerId filter is known only from a third-party client; a server
// that ignores it must not make the lookup wrong.
func TestCustomerByIDWhenServerIgnoresFilter(t *testing.T) {
	sim := bokamerasim.New(bokamerasim.Options{MaxTake: 2})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		q.Del("CustomerId")
		r.URL.RawQuery = q.Encode()
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	c, err := New(newUpstream(t), Config{
		BaseURL: ts.URL + "/", APIKey: bokamerasim.DefaultAPIKey, TokenURL: bokamerasim.TokenURL(ts.URL + "/"),
		Username: bokamerasim.DefaultUsername, Password: bokamerasim.DefaultPassword, CompanyID: simseed.BokaMeraCompanyID,
	})
	if err != nil {
		t.Fatal(err)
	}
	last := simseed.BookingCustomers[len(simseed.BookingCustomers)-1]
	got, err := c.Customer(context.Background(), last.ID)
	if err != nil || got.ID != last.ID {
		t.Fatalf("got %+v, %v; want customer %s from a later page", got, err, last.ID)
	}
	_, err = c.Customer(context.Background(), "00000000-0000-4000-8000-00000000abcd")
	_ = vendorErr(t, err, upstream.ErrNotFound, http.StatusNotFound, "")
}
