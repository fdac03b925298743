package upstream

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
)

// Metrics are the vendor-call series shared by every vendor client. Labels
// are bounded: vendor and operation names come from code, outcome from a
// fixed set.
type Metrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	breakerState *breakerCollector
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
		breakerState: &breakerCollector{
			desc: prometheus.NewDesc("gateway_upstream_breaker_state",
				"Circuit breaker state per vendor: 0 closed, 1 half-open, 2 open.", []string{"vendor"}, nil),
			states: map[string]func() gobreaker.State{},
		},
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

// breakerCollector reads every breaker's state when scraped. A gauge set
// from the breaker's state-change hook would stay "open" past the open
// period: gobreaker moves Open -> HalfOpen only when asked for its state,
// which otherwise happens on the next call. Reading State() here also runs
// that transition (and its log line) on time.
type breakerCollector struct {
	desc   *prometheus.Desc
	mu     sync.Mutex
	states map[string]func() gobreaker.State
}

// add reports vendor's breaker from now on; a later add for the same
// vendor replaces it.
func (b *breakerCollector) add(vendor string, state func() gobreaker.State) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.states[vendor] = state
}

func (b *breakerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- b.desc }

func (b *breakerCollector) Collect(ch chan<- prometheus.Metric) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for vendor, state := range b.states {
		ch <- prometheus.MustNewConstMetric(b.desc, prometheus.GaugeValue, breakerGauge(state()), vendor)
	}
}
