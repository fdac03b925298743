package postgres

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/gateway/internal/store"
	"github.com/partnerhub/gateway/internal/store/pgtest"
	"github.com/partnerhub/gateway/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// opener gives each test its own database, reopened by later calls.
func opener() storetest.Opener {
	var urls sync.Map
	return func(t *testing.T, opts store.Options) store.Store {
		u, ok := urls.Load(t)
		if !ok {
			u, _ = urls.LoadOrStore(t, pgtest.NewDatabase(t))
		}
		s, err := Open(t.Context(), u.(string), opts)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
}

func TestConformance(t *testing.T) { storetest.Run(t, opener()) }

func exec(t *testing.T, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func count(t *testing.T, url, sql string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	var n int
	if err := conn.QueryRow(t.Context(), sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// Replicas starting together on one new database both come up, and each
// migration runs once.
func TestConcurrentStartup(t *testing.T) {
	url := pgtest.NewDatabase(t)
	const replicas = 4
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() {
			s, err := Open(t.Context(), url, store.Options{})
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}
	if n, d := count(t, url, `SELECT count(*) FROM schema_migrations`), count(t, url, `SELECT count(DISTINCT version) FROM schema_migrations`); n < 3 || n != d {
		t.Fatalf("schema_migrations: %d rows, %d versions", n, d)
	}
}

func TestRefusesForeignSchema(t *testing.T) {
	url := pgtest.NewDatabase(t)
	exec(t, url, `CREATE TABLE sync_jobs (id int PRIMARY KEY, payload text)`)
	if _, err := Open(t.Context(), url, store.Options{}); !errors.Is(err, ErrForeignSchema) {
		t.Fatalf("Open = %v, want ErrForeignSchema", err)
	}
	if n := count(t, url, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`); n != 1 {
		t.Fatalf("Open left %d tables, want only the foreign one", n)
	}

	other := pgtest.NewDatabase(t)
	exec(t, other, `CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean)`)
	if _, err := Open(t.Context(), other, store.Options{}); !errors.Is(err, ErrForeignSchema) {
		t.Fatalf("Open with another tool's schema_migrations = %v, want ErrForeignSchema", err)
	}
}

func TestAuditIsAppendOnly(t *testing.T) {
	url := pgtest.NewDatabase(t)
	s, err := Open(t.Context(), url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if err := s.AppendAudit(t.Context(), store.AuditEvent{ID: "e", Subject: "a", Operation: "op", Outcome: store.OutcomePending}); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{`DELETE FROM audit_events`, `UPDATE audit_events SET subject = 'mallory'`} {
		conn, err := pgx.Connect(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		_, err = conn.Exec(t.Context(), sql)
		_ = conn.Close(context.Background())
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("%s = %v, want refused", sql, err)
		}
	}
}

func TestOpenHidesPassword(t *testing.T) {
	_, err := Open(t.Context(), "postgres://gw:s3cret-pw@127.0.0.1:1/db?connect_timeout=1", store.Options{})
	if err == nil {
		t.Fatal("Open against a closed port succeeded")
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("error reveals the password: %v", err)
	}
	if got := Redact("postgres://gw:s3cret-pw@db/x?password=other"); strings.Contains(got, "s3cret-pw") || strings.Contains(got, "other") {
		t.Fatalf("Redact = %q", got)
	}
}

// go test -run '^$' -bench . ./internal/store/postgres
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		s, err := Open(b.Context(), pgtest.NewDatabase(b), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		return s
	})
}
