package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/partnerhub/gateway/internal/store"
	"github.com/partnerhub/gateway/internal/store/storetest"
)

// opener gives each test its own file, reopened by later calls.
func opener() storetest.Opener {
	var paths sync.Map
	return func(t *testing.T, opts store.Options) store.Store {
		p, _ := paths.LoadOrStore(t, filepath.Join(t.TempDir(), "gateway.db"))
		s, err := Open(t.Context(), p.(string), opts)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
}

func TestConformance(t *testing.T) { storetest.Run(t, opener()) }

// siblings lists the files beside path, to catch journal or WAL files left
// behind.
func siblings(t *testing.T, path string) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestRefusesForeignFiles(t *testing.T) {
	foreignDB := func(t *testing.T, path string) {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = db.Close() }()
		if _, err := db.Exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('x')`); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, path string)
	}{
		{"text file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("these are my notes, not a database\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"short binary file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("SQLite format 3\x00"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"another application's database", foreignDB},
		{"another application's id", func(t *testing.T, path string) {
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = db.Close() }()
			if _, err := db.Exec(`PRAGMA application_id = 42; CREATE TABLE schema_migrations (version INTEGER, name TEXT, applied_at TEXT)`); err != nil {
				t.Fatal(err)
			}
		}},
		{"another tool's migrations table", func(t *testing.T, path string) {
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = db.Close() }()
			if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER, dirty INTEGER)`); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "gateway.db")
			tc.setup(t, path)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			files := siblings(t, path)

			s, err := Open(t.Context(), path, store.Options{})
			if err == nil {
				_ = s.Close()
				t.Fatal("Open accepted a file that is not a gateway database")
			}
			if !errors.Is(err, ErrForeignFile) {
				t.Fatalf("Open = %v, want ErrForeignFile", err)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Fatal("Open changed the foreign file")
			}
			if got := siblings(t, path); len(got) != len(files) {
				t.Fatalf("Open left files behind: %v (before: %v)", got, files)
			}
		})
	}
}

func TestOpenAcceptsEmptyFileAndDirectoryErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), empty, store.Options{})
	if err != nil {
		t.Fatalf("Open(empty file): %v", err)
	}
	_ = s.Close()
	// A new file is private: it will hold stored answers.
	fresh := filepath.Join(dir, "new.db")
	s, err = Open(t.Context(), fresh, store.Options{})
	if err != nil {
		t.Fatalf("Open(new): %v", err)
	}
	_ = s.Close()
	if fi, err := os.Stat(fresh); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("new database file mode = %v, %v; want 0600", fi.Mode(), err)
	}
	if _, err := Open(t.Context(), dir, store.Options{}); !errors.Is(err, ErrForeignFile) {
		t.Fatalf("Open(directory) = %v, want ErrForeignFile", err)
	}
	if _, err := Open(t.Context(), filepath.Join(dir, "missing", "x.db"), store.Options{}); err == nil {
		t.Fatal("Open in a missing directory succeeded")
	}
}

// Reopening runs no migration twice and keeps the recorded versions.
func TestMigrationsRecordedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.db")
	for i := range 2 {
		s, err := Open(t.Context(), path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := s.AppendAudit(t.Context(), store.AuditEvent{ID: "e", Subject: "a", Operation: "op", Outcome: store.OutcomePending}); err != nil {
				t.Fatal(err)
			}
		}
		_ = s.Close()
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	var n, distinct int
	if err := db.QueryRowContext(context.Background(), `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n < 3 || n != distinct {
		t.Fatalf("schema_migrations has %d rows, %d versions", n, distinct)
	}
	// The audit trail refuses deletion at the database level.
	if _, err := db.Exec(`DELETE FROM audit_events`); err == nil {
		t.Fatal("deleting audit events succeeded")
	}
	if _, err := db.Exec(`UPDATE audit_events SET subject = 'mallory'`); err == nil {
		t.Fatal("rewriting an audit event succeeded")
	}
}

// go test -run '^$' -bench . ./internal/store/sqlite
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		s, err := Open(b.Context(), filepath.Join(b.TempDir(), "gateway.db"), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		return s
	})
}
