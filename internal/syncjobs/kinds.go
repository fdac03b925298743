package syncjobs

import (
	"context"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/store"
)

// kindStore reads jobs with their kind in the current spelling: migration
// 0006 renames stored kinds, but an older replica may still write the old
// hyphenated ones during a rolling upgrade (model.SyncKind).
type kindStore struct{ store.Store }

func (s kindStore) SyncJob(ctx context.Context, id string) (store.SyncJob, error) {
	j, err := s.Store.SyncJob(ctx, id)
	j.Kind = model.SyncKind(j.Kind)
	return j, err
}

func (s kindStore) ListSyncJobs(ctx context.Context, f store.SyncJobFilter) ([]store.SyncJob, error) {
	jobs, err := s.Store.ListSyncJobs(ctx, f)
	for i := range jobs {
		jobs[i].Kind = model.SyncKind(jobs[i].Kind)
	}
	return jobs, err
}
