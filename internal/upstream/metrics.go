package upstream

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the vendor-call series shared by every vendor client. Labels
// are bounded: vendor and operation names come from code, outcome from a
// fixed set.
type Metrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	breakerState *prometheus.GaugeVec
	retries      *prometheus.CounterVec
}

// NewMetrics registers the vendor-call series on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_upstream_requests_total",
			Help: "Vendor calls by vendor, operation and outcome (ok, rejected, error, timeout, connection_error, unavailable, canceled).",
		}, []string{"vendor", "operation", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_upstream_request_duration_seconds",
			Help:    "Vendor call duration by vendor, operation and outcome.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"vendor", "operation", "outcome"}),
		breakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gateway_upstream_breaker_state",
			Help: "Circuit breaker state per vendor: 0 closed, 1 half-open, 2 open.",
		}, []string{"vendor"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_upstream_retries_total",
			Help: "Extra attempts of idempotent vendor calls after a transient failure, by vendor and operation.",
		}, []string{"vendor", "operation"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.breakerState, m.retries} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
