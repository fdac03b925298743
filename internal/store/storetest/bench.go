package storetest

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/store"
)

// Bench measures the writes every gateway write request makes, one at a
// time and from parallel goroutines. open returns a store over a new,
// empty database.
func Bench(b *testing.B, open func(b *testing.B) store.Store) {
	var n atomic.Int64
	next := func() string { return fmt.Sprintf("%d", n.Add(1)) }
	ops := []struct {
		name string
		op   func(b *testing.B, s store.Store)
	}{
		{"CreateSyncJob", func(b *testing.B, s store.Store) {
			id := next()
			if _, err := s.CreateSyncJob(b.Context(), job("job-"+id, model.SyncKindAxemaUsers, "c-"+id, model.SyncPending, t0)); err != nil {
				b.Fatal(err)
			}
		}},
		{"BeginFinishIdempotent", func(b *testing.B, s store.Store) {
			key := next()
			r, owner, err := s.BeginIdempotent(b.Context(), "alice", key, "fp")
			if r != nil || err != nil {
				b.Fatal(r, err)
			}
			if err := s.FinishIdempotent(b.Context(), "alice", key, owner, answer); err != nil {
				b.Fatal(err)
			}
		}},
		{"AppendAudit", func(b *testing.B, s store.Store) {
			if err := s.AppendAudit(b.Context(), event("e-"+next(), t0.Add(time.Second), "alice", "licenses.register")); err != nil {
				b.Fatal(err)
			}
		}},
	}
	for _, o := range ops {
		b.Run(o.name, func(b *testing.B) {
			s := open(b)
			for b.Loop() {
				o.op(b, s)
			}
		})
		b.Run(o.name+"/parallel", func(b *testing.B) {
			s := open(b)
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					o.op(b, s)
				}
			})
		})
	}
}
