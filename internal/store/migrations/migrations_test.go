package migrations

import (
	"strings"
	"testing"
)

func TestForEachEngine(t *testing.T) {
	sqlite, err := For(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := For(Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(sqlite) != len(pg) {
		t.Fatalf("sqlite has %d versions, postgres %d: every version needs a file for both", len(sqlite), len(pg))
	}
	for i := range sqlite {
		if sqlite[i].Version != i+1 || sqlite[i].Name != pg[i].Name {
			t.Fatalf("version %d: sqlite %q, postgres %q", i+1, sqlite[i].Name, pg[i].Name)
		}
	}
	// The engine's own file replaces the shared one, never both.
	if !strings.Contains(sqlite[0].SQL, "STRICT") || strings.Contains(pg[0].SQL, "STRICT") {
		t.Fatal("version 1 did not pick the engine's own file")
	}
	if sqlite[1].SQL != pg[1].SQL {
		t.Fatal("the shared version 2 differs between engines")
	}
	if _, err := For("mysql"); err == nil {
		t.Fatal("an unknown engine got migrations")
	}
}
