package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/store"
)

// Migration 6 renames the sync kinds a 1.x gateway stored (gdap-customers)
// to the 2.0 names (gdap_customers).
func TestMigrationRenamesOldSyncKinds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.db")
	s, err := Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for id, kind := range map[string]string{"a": "gdap-customers", "b": "axema-users", "c": "gdap-onboarding"} {
		if _, err := s.CreateSyncJob(t.Context(), store.SyncJob{ID: id, Kind: kind, CompanyID: id, State: "succeeded", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Close()
	// As if the database were last opened by a gateway without version 6.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version = 6`); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()

	s, err = Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	for id, want := range map[string]string{"a": "gdap_customers", "b": "axema_users", "c": "gdap_onboarding"} {
		j, err := s.SyncJob(t.Context(), id)
		if err != nil || j.Kind != want {
			t.Errorf("job %s: kind %q, %v; want %q", id, j.Kind, err, want)
		}
	}
}
