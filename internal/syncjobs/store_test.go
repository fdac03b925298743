package syncjobs_test

import (
	"path/filepath"
	"testing"

	"github.com/partnerhub/gateway/internal/store"
	"github.com/partnerhub/gateway/internal/store/sqlite"
)

// newStore is the real embedded engine on a file of the test's own.
func newStore(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "gateway.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
