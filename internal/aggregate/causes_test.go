package aggregate

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream"
)

// An open breaker's cause survives the client stack and the fan-out, so
// the handlers (and anyone logging the error) can still tell it apart:
// errors.Is(err, gobreaker.ErrOpenState) holds on what List returns.
func TestOpenBreakerCauseReachesTheCaller(t *testing.T) {
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(vendor.Close)
	metrics, err := upstream.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	up, err := upstream.New(upstream.Config{Vendor: model.VendorGDAP, Timeout: 2 * time.Second, MaxAttempts: 1,
		Breaker: upstream.BreakerConfig{MinRequests: 2, FailureRatio: 1, Window: time.Minute, OpenFor: time.Minute, HalfOpenProbes: 1}}, metrics, nil)
	if err != nil {
		t.Fatal(err)
	}
	list := Live(func(ctx context.Context) ([]model.CustomerRecord, error) {
		req, err := http.NewRequest(http.MethodGet, vendor.URL, nil)
		if err != nil {
			return nil, err
		}
		return nil, up.Do(ctx, upstream.Call{Op: "list", Request: req, Idempotent: true, Handle: func(r *http.Response) error {
			return &upstream.Error{Status: r.StatusCode}
		}})
	})
	customers := NewCustomers(CustomerSource{Vendor: model.VendorGDAP, List: list})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 2 { // trip the breaker
		if _, err := customers.List(ctx, CustomerQuery{}); errors.Is(err, gobreaker.ErrOpenState) {
			t.Fatalf("breaker open before it tripped: %v", err)
		}
	}
	_, err = customers.List(ctx, CustomerQuery{})
	var vf *VendorsFailedError
	if !errors.As(err, &vf) || vf.Status() != upstream.StatusUnavailable {
		t.Fatalf("with the breaker open: %v, want every vendor unavailable", err)
	}
	if !errors.Is(err, gobreaker.ErrOpenState) || !errors.Is(err, upstream.ErrUnavailable) {
		t.Errorf("the open breaker's cause is lost: %v", err)
	}
}
