package readcache

import "github.com/prometheus/client_golang/prometheus"

// Lookup outcomes, one per Get.
const (
	lookupHit       = "hit"       // a fresh entry answered
	lookupMiss      = "miss"      // this caller loaded the answer
	lookupCoalesced = "coalesced" // another caller's load answered
	lookupStale     = "stale"     // loading failed; an earlier answer was served, marked stale
	lookupError     = "error"     // loading failed and nothing could stand in
)

// Metrics are the cache series; one Metrics may serve several caches, told
// apart by Config.Name.
type Metrics struct {
	lookups *prometheus.CounterVec
	entries *prometheus.GaugeVec
}

// NewMetrics registers gateway_cache_lookups_total and gateway_cache_entries
// on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_cache_lookups_total",
			Help: "Read-cache lookups by cache and result: hit, miss (loaded), coalesced (shared another caller's load), stale (served an earlier answer because loading failed), error.",
		}, []string{"cache", "result"}),
		entries: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gateway_cache_entries",
			Help: "Entries held by each read cache, stale ones included.",
		}, []string{"cache"}),
	}
	for _, c := range []prometheus.Collector{m.lookups, m.entries} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (c *Cache[T]) count(result string) {
	if m := c.cfg.Metrics; m != nil {
		m.lookups.WithLabelValues(c.cfg.Name, result).Inc()
	}
}

// setEntries publishes the entry count; c.mu is held.
func (c *Cache[T]) setEntries() {
	if m := c.cfg.Metrics; m != nil {
		m.entries.WithLabelValues(c.cfg.Name).Set(float64(len(c.entries)))
	}
}
