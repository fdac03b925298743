package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/partnerhub/gateway/internal/config"
	"github.com/partnerhub/gateway/internal/store"
	"github.com/partnerhub/gateway/internal/store/postgres"
	"github.com/partnerhub/gateway/internal/store/sqlite"
)

// openStore opens the engine GATEWAY_DATABASE_URL selects and migrates
// it. Errors never carry the database password.
func openStore(ctx context.Context, cfg config.Config) (store.Store, error) {
	engine, target, err := config.ParseDatabaseURL(cfg.Database.URL.Reveal())
	if err != nil {
		return nil, fmt.Errorf("GATEWAY_DATABASE_URL %w", err)
	}
	opts := store.Options{IdempotencyRetention: cfg.Database.IdempotencyRetention}
	switch engine {
	case config.EnginePostgres:
		return postgres.Open(ctx, target, opts)
	default:
		// The directory is made (private) for the dev database under the
		// user's cache directory; an existing one is left as it is.
		if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
			return nil, fmt.Errorf("database directory: %w", err)
		}
		return sqlite.Open(ctx, target, opts)
	}
}

// purgeInterval is how often expired idempotency records are deleted.
const purgeInterval = 10 * time.Minute

// purgeLoop deletes expired idempotency records until ctx ends. Every
// replica runs it; the deletes are idempotent.
func purgeLoop(ctx context.Context, db store.Store, log *slog.Logger) {
	t := time.NewTicker(purgeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, time.Minute)
			if err := db.Purge(pctx); err != nil {
				log.Warn("purging expired idempotency keys failed", "error", err.Error())
			}
			cancel()
		}
	}
}
