package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/config"
	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/store"
	"github.com/partnerhub/gateway/internal/store/pgtest"
	"github.com/partnerhub/gateway/internal/store/postgres"
	"github.com/partnerhub/gateway/internal/store/sqlite"
)

func TestOpenStoreEmbedded(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cache", "partnerhub-gateway", "gateway.db")
	cfg := config.Config{Database: config.Database{URL: config.Secret("sqlite:" + path), IdempotencyRetention: time.Hour}}
	s, err := openStore(t.Context(), cfg)
	if err != nil {
		t.Fatalf("openStore: %v", err)
	}
	if _, err := s.CreateSyncJob(t.Context(), store.SyncJob{ID: "j", Kind: model.SyncKindAxemaUsers, CompanyID: "c",
		State: model.SyncRunning, RequestedBy: "a", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*sqlite.Store); !ok {
		t.Fatalf("openStore chose %T for a sqlite: URL", s)
	}
	_ = s.Close()
	// A restart finds the job again.
	s, err = openStore(t.Context(), cfg)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer func() { _ = s.Close() }()
	if _, err := s.SyncJob(t.Context(), "j"); err != nil {
		t.Fatalf("job after restart: %v", err)
	}

	notes := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notes, []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := openStore(t.Context(), config.Config{Database: config.Database{URL: config.Secret(notes)}}); !errors.Is(err, sqlite.ErrForeignFile) {
		t.Fatalf("openStore(text file) = %v, want ErrForeignFile", err)
	}
}

func TestOpenStoreErrorsHidePassword(t *testing.T) {
	for _, u := range []string{"mysql://gw:hunter2-pw@db/x", "postgres://gw:hunter2-pw@127.0.0.1:1/x?connect_timeout=1"} {
		_, err := openStore(t.Context(), config.Config{Database: config.Database{URL: config.Secret(u)}})
		if err == nil {
			t.Fatalf("openStore(%s) succeeded", config.RedactURL(u))
		}
		if strings.Contains(err.Error(), "hunter2-pw") {
			t.Fatalf("error reveals the password: %v", err)
		}
	}
}

// PostgreSQL is chosen by the URL; this runs where a server is configured
// (CI sets GATEWAY_TEST_DATABASE_URL).
func TestOpenStorePostgres(t *testing.T) {
	if os.Getenv(pgtest.EnvURL) == "" {
		t.Skipf("set %s to run against PostgreSQL", pgtest.EnvURL)
	}
	cfg := config.Config{Database: config.Database{URL: config.Secret(pgtest.NewDatabase(t)), IdempotencyRetention: time.Hour}}
	s, err := openStore(t.Context(), cfg)
	if err != nil {
		t.Fatalf("openStore: %v", err)
	}
	defer func() { _ = s.Close() }()
	if _, ok := s.(*postgres.Store); !ok {
		t.Fatalf("openStore chose %T for a postgres:// URL", s)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}
