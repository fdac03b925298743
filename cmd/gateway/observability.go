package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/partnerhub/gateway/internal/store"
)

// storeUp is gateway_store_up: 1 when the database answered a ping during
// this scrape, else 0. It is read at scrape time so it is right even when
// no write has needed the database for a while (reads never do).
type storeUp struct {
	db      store.Store
	timeout time.Duration
	desc    *prometheus.Desc
}

func newStoreUp(db store.Store) *storeUp {
	return &storeUp{db: db, timeout: 2 * time.Second, desc: prometheus.NewDesc("gateway_store_up",
		"Whether the gateway's database answered a ping at scrape time (1) or not (0).", nil, nil)}
}

func (s *storeUp) Describe(ch chan<- *prometheus.Desc) { ch <- s.desc }

func (s *storeUp) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	up := 1.0
	if err := s.db.Ping(ctx); err != nil {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, up)
}
