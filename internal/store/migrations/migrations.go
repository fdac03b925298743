// Package migrations holds the versioned schema of both store engines,
// embedded in the binary. A file NNNN_name.sql is shared by every engine;
// NNNN_name.<engine>.sql replaces it for one engine where the SQL dialects
// differ (identity columns, triggers). Each engine applies the missing
// versions in order at start-up and records them in schema_migrations.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed sql/*.sql
var files embed.FS

// Engines with their own files.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Table is where applied versions are recorded.
const Table = "schema_migrations"

// Migration is one schema version for one engine.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// For returns engine's migrations in version order. It fails when a
// version is missing, defined twice, or has only other engines' files.
func For(engine string) ([]Migration, error) {
	if engine != SQLite && engine != Postgres {
		return nil, fmt.Errorf("migrations: unknown engine %q", engine)
	}
	entries, err := fs.ReadDir(files, "sql")
	if err != nil {
		return nil, err
	}
	type pick struct {
		m        Migration
		specific bool
	}
	byVersion := map[int]pick{}
	seen := map[int]bool{}
	for _, e := range entries {
		base := strings.TrimSuffix(e.Name(), ".sql")
		num, rest, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migrations: bad file name %q", e.Name())
		}
		seen[v] = true
		name, fileEngine, specific := strings.Cut(rest, ".")
		if specific && fileEngine != SQLite && fileEngine != Postgres {
			return nil, fmt.Errorf("migrations: unknown engine in %q", e.Name())
		}
		if specific && fileEngine != engine {
			continue
		}
		prev, dup := byVersion[v]
		if dup && prev.specific == specific {
			return nil, fmt.Errorf("migrations: version %d defined twice", v)
		}
		if dup && prev.specific {
			continue // the engine's own file wins over the shared one
		}
		b, err := files.ReadFile("sql/" + e.Name())
		if err != nil {
			return nil, err
		}
		byVersion[v] = pick{Migration{Version: v, Name: name, SQL: string(b)}, specific}
	}
	out := make([]Migration, 0, len(byVersion))
	for _, p := range byVersion {
		out = append(out, p.m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations: %s has no file for version %d", engine, i+1)
		}
	}
	if len(out) != len(seen) {
		return nil, fmt.Errorf("migrations: %s lacks a file for some versions", engine)
	}
	return out, nil
}
