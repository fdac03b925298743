package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

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
